"""``verify``: the release's artifacts are exactly the expected set, each one sound and safe to install.

:func:`verify_dist` is the scanner, then the rules:

* :mod:`~codex_release.checks.verify.rules`: what ``verify: OK`` means, as pure functions from facts to
  faults (the one module to audit);
* :mod:`~codex_release.checks.verify.scan`: gathers those facts from DIST as fast as it can (a thread pool,
  members with equal compressed bytes inflated once, twine in a side process), held to a plain read by a
  property test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codex_release.checks.index_limits import SizeLimits
from codex_release.checks.publisher_twine import Publisher
from codex_release.checks.verify.rules import ArtifactReport, judge, sort_dist
from codex_release.checks.verify.scan import scan_release
from codex_release.core.dist import list_dist
from codex_release.core.versions import CodexVersion

__all__ = ["ArtifactReport", "VerifyReport", "verify_dist"]


@dataclass
class VerifyReport:
    artifacts: list[ArtifactReport]
    faults: list[str]
    """Faults of the set as a whole (missing or duplicate targets, stray files)."""
    sizes: str = ""
    """The sizes against the index's upload limits (:meth:`SizeLimits.summary`)."""
    twine: str = ""
    """Which twine judged the files (``twine check --strict: twine 7.0.0 (...)``): the publisher's, normally."""

    @property
    def fault_count(self) -> int:
        """Every fault: of the set and of each artifact."""
        return len(self.faults) + sum(len(a.faults) for a in self.artifacts)

    @property
    def ok(self) -> bool:
        return self.fault_count == 0

    def table(self) -> str:
        rows = [("file", "kind", "target", "size", "status")]
        for a in self.artifacts:
            status = "ok" if not a.faults else "FAIL: " + "; ".join(a.faults)
            rows.append((a.file, a.kind, a.target or "-", f"{a.size / 1e6:.1f} MB", status))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(widths[i]) if i < 4 else c for i, c in enumerate(r)) for r in rows]
        lines += [f"FAIL: {fault}" for fault in self.faults]
        if self.sizes:
            lines.append(self.sizes)
        if self.twine:
            lines.append(self.twine)
        lines.append("verify: OK" if self.ok else f"verify: FAILED ({self.fault_count} faults)")
        return "\n".join(lines)


def verify_dist(
    dist_dir: Path,
    version: CodexVersion,
    *,
    require_sdk: bool = False,
    limits: SizeLimits | None = None,
    publisher: Publisher | None = None,
) -> VerifyReport:
    """Verify every artifact of release ``version`` in ``dist_dir``; sizes against ``limits`` (default: the
    index's default limits, :class:`~codex_release.checks.index_limits.SizeLimits`). ``twine check --strict``
    runs with ``publisher`` (the CLI passes the pinned publish action's twine,
    :func:`~codex_release.checks.publisher_twine.pinned_publisher`); without one, with this toolkit's twine."""
    dist = sort_dist(list_dist(dist_dir), version, dist_dir)
    facts = scan_release(dist, version, publisher)
    verdict = judge(dist, facts, version, require_sdk=require_sdk, limits=limits or SizeLimits())
    return VerifyReport(
        verdict.artifacts, verdict.faults, verdict.sizes, twine=f"twine check --strict: {facts.twine_tool}"
    )
