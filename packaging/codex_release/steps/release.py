"""The main job: a local release of one Codex version into a dist directory.

fetch (cached) -> stage + write each target's runtime wheels (full, plus lean where an optional
``codex-path/`` helper narrows the tags, :mod:`codex_release.core.variants`) -> SDK wheel + sdist -> SHA256SUMS and
``manifest.json`` -> verify -> smoke (fresh venv, offline install, a real turn on the real binary).
Everything is built in a temporary directory beside DIST and moved into place only when verification
and smoke passed, so a failed release leaves DIST as it was.

Where DIST may be is :mod:`codex_release.core.staging`'s rule (``in_checkout="ignored"``); what it may
replace is an earlier release's output (:func:`codex_release.core.record.earlier_release`), anything else
only with ``--overwrite``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codex_release.checks.index_limits import SizeLimits
from codex_release.checks.publisher_twine import Publisher
from codex_release.checks.verify import VerifyReport, verify_dist
from codex_release.core.locations import Checkout
from codex_release.core.record import earlier_release, write_checksums
from codex_release.core.staging import (
    check_place,
    check_replaceable,
    hold,
    private_tempdir,
    replace_when_done,
)
from codex_release.core.targets import TARGETS, Target
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound
from codex_release.steps.fetch import fetch_runtime
from codex_release.steps.stage_runtime import stage_runtime

__all__ = ["ReleaseResult", "build_release"]


@dataclass(frozen=True)
class ReleaseResult:
    dist_dir: Path
    files: tuple[Path, ...]
    report: VerifyReport


def build_release(
    version: CodexVersion,
    dist_dir: Path,
    *,
    checkout: Checkout,
    targets: tuple[Target, ...] = TARGETS,
    with_sdk: bool = True,
    run_smoke: bool = True,
    echo: Callable[[str], None] = print,
    progress: bool | None = None,
    overwrite: bool = False,
    limits: SizeLimits | None = None,
    publisher: Publisher | None = None,
) -> ReleaseResult:
    """Build and verify every artifact of ``version`` from ``checkout``; replace ``dist_dir`` only on success.

    ``dist_dir`` must be empty, absent or an earlier release's output unless ``overwrite``. ``limits``: the
    index's upload limits the sizes are verified against (default: the index's defaults). ``publisher``: the
    twine that verify's ``twine check`` runs with (the CLI passes the pinned publish action's).
    """
    dist = check_place(dist_dir, label="--dist-dir", checkout=checkout.root, in_checkout="ignored")
    if with_sdk:
        from codex_release.steps.stage_sdk import check_sdk_source

        check_sdk_source(version, checkout.sdk)  # the pin and the generated types, before six packages are fetched
    with hold(dist, label="--dist-dir"), private_tempdir("release") as work:
        check_replaceable(dist, label="--dist-dir", overwrite=overwrite, ours=earlier_release)
        with replace_when_done(dist) as out:
            echo(f"fetching {len(targets)} platform packages of Codex {version.tag} (cached after the first run)")
            sources = fetch_runtime(version, targets, work / "fetched", checkout=checkout.root)
            targets_by_file: dict[str, str] = {}
            variants_by_file: dict[str, str] = {}
            for target, source in sources.items():
                staged = stage_runtime(
                    work / "staging" / target.triple,
                    source,
                    version,
                    template=checkout.runtime_template,
                    checkout=checkout.root,
                    wheel_dir=out,
                    progress=progress,
                )
                assert staged.wheel is not None
                for variant, wheel in zip(staged.variants, staged.wheels, strict=True):
                    targets_by_file[wheel.name] = target.triple
                    variants_by_file[wheel.name] = variant.name
                    echo(f"  {target.triple:28} -> {wheel.name} ({variant.name})")
            if with_sdk:
                from codex_release.steps.stage_sdk import stage_sdk

                stage_sdk(work / "staging" / "sdk", version, source=checkout.sdk, dist_dir=out)
                echo("  SDK wheel and sdist built")
            write_checksums(out, targets_by_file, variants_by_file)
            report = verify_dist(out, version, require_sdk=with_sdk, limits=limits, publisher=publisher)
            echo(report.table())
            if not report.ok:
                raise FaultFound(
                    f"verification failed for {version}: see the table above; {dist_dir} was left unchanged"
                )
            if run_smoke:
                from codex_release.checks.smoke import smoke

                smoked = smoke(out, version, echo=echo)
                echo(smoked.table())
                if not smoked.ok:
                    raise FaultFound(
                        f"smoke tests failed for {version}: see the table above; {dist_dir} was left unchanged"
                    )
        files = tuple(sorted(dist.iterdir()))
    return ReleaseResult(dist, files, report)
