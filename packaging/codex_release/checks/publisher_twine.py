"""The publisher's own twine: ``verify`` and ``publish-rehearsal`` judge the dists with what will publish them.

The release workflow publishes with ``pypa/gh-action-pypi-publish``, which runs ``twine check --strict`` and
``twine upload`` with the twine of its own container, not ours. A twine whose ``packaging`` does not know
our metadata version refuses every file (v1.13.0 bundled twine 6.1.0 with packaging 24.2, which refuses the
``Metadata-Version: 2.5`` that hatchling 1.33 writes), and the toolkit's own twine (from the dev lock) would
still say OK. So the twine that judges here is the publisher's, installed from a hash-locked copy of the
action's bundle (``requirements/publish-action.txt``, whose header names the action's SHA; the versions are
:data:`~codex_release.core.workflow_actions.PUBLISHER_BUNDLE`, next to the action's row), or, to try a candidate
action bump, from any other hash lock (``--publisher-lock``).

The venv lives in the user cache (:func:`codex_release.core.locations.cache_dir`), one per lock content and
interpreter, and is built once: in a scratch directory beside it that is renamed into place only after the
install and a check that its interpreter reports the expected twine and packaging, under the destination's
lock (:func:`codex_release.core.staging.hold`, ``filelock``), so a concurrent run waits and then reuses it, and
a killed build leaves scratch that the next build sweeps, never a venv that is used. Each use asks the
interpreter again (about 0.1 s): a venv whose interpreter or packages went missing is rebuilt. Its console
scripts are never run (their shebangs name the scratch path); twine runs as ``python -I -m twine`` or the
hashing-free :mod:`codex_release.checks.twine_check` run by path.

The lock's path is a parameter: the CLI knows the checkout (:class:`codex_release.core.locations.Checkout`) and
passes its ``publisher_lock`` (``PUBLISHER_BUNDLE.lock`` in it); this module finds nothing by itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

from codex_release import processes
from codex_release.core.workflow_actions import PUBLISH_ACTION, PUBLISHER_BUNDLE, PublisherBundle, action_row
from codex_release.errors import InputRefused, ToolFailed

__all__ = [
    "Publisher",
    "check_files",
    "metadata_refusal",
    "pinned_publisher",
    "publisher_from_lock",
    "refusal_reason",
    "toolkit_twine",
]

_MARKER = "publisher.json"
"""Written last into a venv that passed its check; a directory without it is never used."""
_PROBE = (
    "import twine, packaging; from importlib.metadata import version; print(version('twine'), packaging.__version__)"
)
_PROBE_TIMEOUT_S = 120
_CHECK_TIMEOUT_S = 600
_LOCK_WAIT_S = 1800.0
"""A second run waits for the first one's install (pip's own timeout bounds it) instead of failing."""
_TABLE = "packaging/codex_release/core/workflow_actions.py"
_FIX = f"move {PUBLISH_ACTION} to a release whose twine can (see {_TABLE})"
_REFUSAL = re.compile(r"\b(InvalidDistribution|InvalidWheelFilename|InvalidSdist): (?P<reason>.+)")


@dataclass(frozen=True)
class Publisher:
    """A twine that judges and uploads the dists: its interpreter and what it is."""

    python: Path
    twine: str
    packaging: str
    source: str
    """Where it comes from: ``pypa/gh-action-pypi-publish v1.14.2``, ``requirements FILE``, ..."""
    role: str
    """How a refusal names it: ``the pinned publish action``, ``the publisher of FILE``."""

    def describe(self) -> str:
        """``twine 7.0.0 (packaging 26.2; pypa/gh-action-pypi-publish v1.14.2)``: the summary names the tool."""
        return f"twine {self.twine} (packaging {self.packaging}; {self.source})"

    def twine_command(self, *args: str) -> list[str]:
        """``python -I -m twine ARGS`` with this interpreter (``-I``: no user site, no ``PYTHON*`` variable)."""
        return [str(self.python), "-I", "-m", "twine", *args]

    def check_command(self, *args: str) -> list[str]:
        """twine's command line without upload hashing (:mod:`codex_release.checks.twine_check`), by path.

        ``twine_check`` imports only ``sys`` and twine, so any interpreter with twine runs it; ``-I`` keeps
        the script's directory (this package) off ``sys.path``.
        """
        from codex_release.checks import twine_check

        return [str(self.python), "-I", str(Path(twine_check.__file__).resolve()), *args]


def toolkit_twine() -> Publisher:
    """The toolkit's own twine (the dev lock's): what library callers get when they name no publisher."""
    return Publisher(
        Path(sys.executable),
        installed_version("twine"),
        installed_version("packaging"),
        "this toolkit's environment, not the publisher's",
        "this toolkit's twine",
    )


def pinned_publisher(lock: Path) -> Publisher:
    """The pinned publish action's twine, from ``lock`` (a checkout's ``PUBLISHER_BUNDLE.lock``).

    Its versions must be :data:`PUBLISHER_BUNDLE`'s: a lock that drifted from the table is an error.
    """
    row = action_row(PUBLISH_ACTION)
    return publisher_from_lock(
        lock,
        source=f"{PUBLISH_ACTION} {row.tag}",
        role="the pinned publish action",
        expect=PUBLISHER_BUNDLE,
    )


def publisher_from_lock(
    lock: Path, *, source: str | None = None, role: str | None = None, expect: PublisherBundle | None = None
) -> Publisher:
    """The twine installed from the hash lock ``lock``, in its cached venv (built on first use).

    ``expect``: the twine and packaging versions the venv must report (else a one-line error and the venv
    is not kept). Without it the versions are whatever the lock holds, reported in :meth:`Publisher.describe`.
    """
    try:
        content = lock.read_bytes()
    except OSError as exc:
        fix = "run `make lock`" if expect is not None else "pass a hash-locked requirements file"
        raise InputRefused(f"cannot read the publisher lock {lock}: {exc.strerror or exc}: {fix}") from None
    source = source or f"requirements {lock}"
    role = role or f"the publisher of {lock}"
    home = _venv_home(content)
    found = _probe(home)
    if found is None:
        from codex_release.core.staging import hold, replace_when_done

        with hold(home, label="the publisher's twine venv", wait=_LOCK_WAIT_S):
            found = _probe(home)  # built meanwhile by the run we waited for
            if found is None:
                with replace_when_done(home) as new:
                    found = _build(new, lock, expect)
    _require(found, expect, lock)
    return Publisher(_python(home), *found, source, role)


def _venv_home(content: bytes) -> Path:
    from codex_release.core.locations import cache_dir

    digest = hashlib.sha256(content).hexdigest()[:20]
    tag = f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"
    return (cache_dir() / "publisher-twine" / f"{digest}-{tag}").resolve()


def _python(root: Path) -> Path:
    return root / "Scripts" / "python.exe" if os.name == "nt" else root / "bin" / "python"


def _ask_versions(python: Path) -> tuple[str, str] | None:
    """``(twine, packaging)`` as ``python`` imports them; None when it cannot."""
    if not python.is_file():
        return None
    try:
        result = processes.run([python, "-I", "-c", _PROBE], timeout=_PROBE_TIMEOUT_S)
    except ToolFailed:
        return None
    words = result.stdout.split()
    if result.returncode != 0 or len(words) != 2:
        return None
    return words[0], words[1]


def _probe(home: Path) -> tuple[str, str] | None:
    """The versions of a finished, working venv at ``home``; None when there is none to reuse (absent, never
    finished, or its interpreter or packages no longer load)."""
    try:
        marker = json.loads((home / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = _ask_versions(_python(home))
    if found is None or not isinstance(marker, dict) or [marker.get("twine"), marker.get("packaging")] != list(found):
        return None
    return found


def _require(found: tuple[str, str], expect: PublisherBundle | None, lock: Path) -> None:
    """A one-line error when the venv of ``lock`` is not the bundle the table of actions names."""
    if expect is not None and found != (expect.twine, expect.packaging):
        raise InputRefused(
            f"{lock} installs twine {found[0]} and packaging {found[1]}, but PUBLISHER_BUNDLE in {_TABLE} says twine "
            f"{expect.twine} and packaging {expect.packaging}: copy the publish action's pins into "
            f"{lock.with_suffix('.in').name} and run `make lock`, or correct PUBLISHER_BUNDLE"
        )


def _build(root: Path, lock: Path, expect: PublisherBundle | None) -> tuple[str, str]:
    """A venv at ``root`` (an empty scratch directory) with exactly the packages of ``lock``; its versions.

    ``--require-hashes --no-deps``: the lock is the whole closure, every file matching one of its hashes,
    nothing resolved here; ``pip check`` then proves the closure whole (a lock missing one of twine's
    dependencies would otherwise fail only when twine imports it).
    """
    from codex_release.checks.fresh_venv import FreshVenv, pip_error, run_pip

    fresh = FreshVenv.create(root)
    # pip's own index settings apply (as for the smoke wheelhouse's download); the hashes decide what is used.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PYTHON", "VIRTUAL_ENV"))}
    args = ["install", "--require-hashes", "--no-deps", "--no-input", "--quiet", "-r", str(lock.resolve())]
    result = run_pip(args, env=env, python=fresh.python)
    if result.returncode != 0:
        if "require-hashes" in result.stderr:
            raise InputRefused(
                f"the publisher lock {lock} is not a hash lock (every pin ==, with --hash): write it with "
                "`uv pip compile FILE.in --universal --generate-hashes -o FILE`"
            )
        raise ToolFailed(f"cannot install the publisher's twine from {lock}: {pip_error(result)}")
    whole = run_pip(["check"], env=env, python=fresh.python)
    if whole.returncode != 0:
        detail = processes.tail(whole.stdout or whole.stderr, lines=3)
        raise InputRefused(f"the publisher lock {lock} is not twine's whole closure ({detail}): re-lock it")
    found = _ask_versions(fresh.python)
    if found is None:
        raise InputRefused(f"the publisher lock {lock} installs no importable twine and packaging: lock twine with it")
    _require(found, expect, lock)  # a venv that is not the bundle is not kept
    marker = {"twine": found[0], "packaging": found[1]}
    (root / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return found


def refusal_reason(output: str) -> str | None:
    """twine's reason for refusing to read a distribution (``InvalidDistribution: ...``), on one line."""
    match = _REFUSAL.search(" ".join(output.split()))
    if match is None:
        return None
    return re.split(r"\s+(?:Checking|Uploading) ", match["reason"])[0].strip()


def metadata_refusal(output: str, publisher: Publisher, *, file: Path | None) -> str | None:
    """The one line for ``publisher`` refusing to read a distribution, or None when ``output`` has none.

    twine raises ``InvalidDistribution`` on metadata its ``packaging`` cannot parse and stops there. That is
    either a defect of the file or a publisher too old for it (v1.13.0's packaging 24.2 does not know
    ``Metadata-Version: 2.5``). To tell which, the file is shown to this toolkit's own twine: if that reads
    it, the publisher is the one that cannot, and the line names the file, twine's reason, the publisher and
    the fix; if it refuses too, the line blames the file.
    """
    reason = refusal_reason(output)
    if reason is None:
        return None
    named = f"{file.name}: " if file is not None else ""
    ours = toolkit_twine()
    if file is not None and publisher.python != ours.python:
        second = processes.run(
            ours.check_command("--no-color", "check", "--strict", str(file)), timeout=_CHECK_TIMEOUT_S
        )
        if refusal_reason(second.stdout + second.stderr) is None:
            return (
                f"{named}{publisher.describe()} refuses it: {reason} (twine {ours.twine} with packaging "
                f"{ours.packaging} reads it): {publisher.role} cannot read this metadata: {_FIX}"
            )
    return f"{named}twine refuses it ({publisher.describe()}): {reason}: the file is at fault, not the publisher"


def check_files(
    files: Sequence[Path], publisher: Publisher, *, skip_hashing: bool = True, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``twine check --strict`` over ``files`` with ``publisher``: file name -> failure text (absent if passed).

    Key ``"*"``: a failure of the run as a whole, e.g. a file twine cannot read at all (it stops there; one
    line naming the file, :func:`metadata_refusal`). ``skip_hashing``: through
    :mod:`codex_release.checks.twine_check` (same verdicts, a tenth of the CPU); False runs stock
    ``python -m twine``. Without colour, and with the console wider than the longest path: twine's console
    wraps at 80 columns otherwise, and a ``Checking PATH: FAILED`` line broken in two is not matched to its
    file.
    """
    if not files:
        return {}
    base = dict(env if env is not None else os.environ)
    base["COLUMNS"] = str(200 + max(len(str(file)) for file in files))
    args = ("--no-color", "check", "--strict", *map(str, files))
    command = publisher.check_command(*args) if skip_hashing else publisher.twine_command(*args)
    result = processes.run(command, timeout=_CHECK_TIMEOUT_S, env=base)
    by_name = {file.name: file for file in files}
    failures: dict[str, str] = {}
    current = None
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("Checking "):
            current = Path(line.split(":", 1)[0].removeprefix("Checking ")).name
            if "FAILED" in line:
                failures[current] = "twine check --strict failed"
        elif current in failures and line.strip():
            failures[current] += f": {line.strip()}"
    if result.returncode != 0 and not failures:
        output = result.stdout + result.stderr
        refused = by_name.get(current) if current is not None else None
        named = f"{refused.name}: " if refused is not None else ""
        failures["*"] = metadata_refusal(output, publisher, file=refused) or (
            f"{named}twine check failed ({publisher.describe()}): {processes.tail(result.stderr or result.stdout)}"
        )
    return failures
