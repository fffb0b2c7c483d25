"""Resolver dry runs: which runtime wheel pip picks on each platform a user may have.

For every :data:`USER_PLATFORMS` entry, pip resolves the release with
``pip install --dry-run --report - --only-binary=:all: --platform ... --python-version ...`` and must
pick, among the runtime wheels of its OS and CPU whose every binary can start there, the most complete
one (the most binaries: the full wheel over the lean one that leaves out an optional helper, see
:mod:`codex_release.core.variants`), and nothing when there is none (macOS 10.9 on x86_64, whose binaries need
10.12; 32-bit Windows; 32-bit ARM Linux). So glibc 2.28 aarch64 must get the full wheel with ``rg`` (it
needs glibc 2.18), musl and glibc 2.17 aarch64 the lean one without it. "Can start" is judged from the
binaries' own headers (:func:`why_not_runs`), never from the wheels' tags, so a wheel tagged wider than
its binaries (``macosx_10_9`` on a 10.12 binary) or narrower (``musllinux`` only for a static binary)
fails the check.

The requirements are ``openai-codex==V`` and the runtime requirement *read from that SDK wheel's own
METADATA*, resolved with ``--no-deps``: the SDK's third-party dependencies (pydantic and its compiled
core) are not part of this release and have no wheels in DIST for foreign platforms, so they are left
out; the SDK's exact runtime pin is what gets resolved. Our two distributions come from DIST only (or,
for :func:`wait_for_index`, from one index only), with pip's own configuration switched off.

Each platform is given to pip as its full list of compatible platform tags, computed here the way
installers do (``manylinux_2_M`` down to 2_5 plus the legacy aliases, ``musllinux_1_M`` down to 1_0,
:func:`packaging.tags.mac_platforms` for macOS), so the check does not depend on how a pip version
expands a single ``--platform`` value.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.tags import mac_platforms
from packaging.utils import canonicalize_name, parse_wheel_filename

from codex_release.archives import WheelArchive
from codex_release.binaries import BinaryInfo, format_of, inspect_bytes
from codex_release.checks.fresh_venv import isolated_pip_env, pip_error, run_pip
from codex_release.core.dist import ReleaseFiles, read_release_files
from codex_release.core.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.targets import TARGETS, Target
from codex_release.core.versions import CodexVersion
from codex_release.errors import ArchiveRefused, FaultFound, ReleaseError, ToolFailed

__all__ = [
    "USER_PLATFORMS",
    "Expectation",
    "Resolution",
    "UserPlatform",
    "check_resolution",
    "expected_runtime",
    "glibc_platforms",
    "index_visibility",
    "macos_platforms",
    "musl_platforms",
    "resolution_table",
    "resolve_on",
    "wait_for_index",
    "wheel_binaries",
    "why_not_runs",
]

PYTHON_VERSION = "3.12"


def glibc_platforms(minor: int, arch: str) -> tuple[str, ...]:
    """Platform tags a glibc ``2.minor`` Linux on ``arch`` accepts, most specific first."""
    tags = [f"manylinux_2_{m}_{arch}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    for floor, alias in legacy.items():
        if minor >= floor and (alias == "manylinux2014" or arch in {"x86_64", "i686"}):
            tags.insert(tags.index(f"manylinux_2_{floor}_{arch}") + 1, f"{alias}_{arch}")
    return (*tags, f"linux_{arch}")


def musl_platforms(minor: int, arch: str) -> tuple[str, ...]:
    """Platform tags a musl ``1.minor`` Linux on ``arch`` accepts, most specific first."""
    return (*(f"musllinux_1_{m}_{arch}" for m in range(minor, -1, -1)), f"linux_{arch}")


def macos_platforms(major: int, minor: int, arch: str) -> tuple[str, ...]:
    """Platform tags macOS ``major.minor`` on ``arch`` (toolkit name) accepts, most specific first."""
    return tuple(mac_platforms((major, minor), "arm64" if arch == "aarch64" else arch))


_WINDOWS_PLATFORMS = {"x86_64": "win_amd64", "aarch64": "win_arm64", "x86": "win32"}


@dataclass(frozen=True)
class UserPlatform:
    """A machine a user may install on: OS, CPU, and the C library or macOS version it has."""

    name: str
    os: str
    arch: str
    libc: str | None = None
    """``glibc`` or ``musl`` on Linux."""
    version: tuple[int, int] = (0, 0)
    """The glibc, musl or macOS version."""
    python_version: str = PYTHON_VERSION

    @property
    def platforms(self) -> tuple[str, ...]:
        """What an installer on this machine accepts, as ``--platform`` values."""
        if self.os == "windows":
            return (_WINDOWS_PLATFORMS[self.arch],)
        if self.os == "macos":
            return macos_platforms(*self.version, self.arch)
        if self.libc == "musl":
            return musl_platforms(self.version[1], self.arch)
        return glibc_platforms(self.version[1], self.arch)


def _linux(libc: str, version: tuple[int, int], arch: str) -> UserPlatform:
    return UserPlatform(f"{libc} {version[0]}.{version[1]} {arch}", "linux", arch, libc, version)


def _macos(version: tuple[int, int], arch: str) -> UserPlatform:
    shown = "arm64" if arch == "aarch64" else arch
    return UserPlatform(f"macOS {version[0]}.{version[1]} {shown}", "macos", arch, None, version)


USER_PLATFORMS: tuple[UserPlatform, ...] = (
    *(_linux("glibc", (2, m), arch) for arch in ("x86_64", "aarch64") for m in (17, 28, 39)),
    *(_linux("musl", (1, m), arch) for arch in ("x86_64", "aarch64") for m in (1, 2)),
    *(_macos(v, "x86_64") for v in ((10, 12), (11, 0), (14, 0))),
    *(_macos(v, "aarch64") for v in ((11, 0), (14, 0))),
    UserPlatform("Windows amd64", "windows", "x86_64"),
    UserPlatform("Windows arm64", "windows", "aarch64"),
    # Where nothing may install: an x86_64 Mac older than the binaries' 10.12 floor, CPUs Codex lacks.
    _macos((10, 9), "x86_64"),
    UserPlatform("Windows 32-bit", "windows", "x86"),
    _linux("glibc", (2, 31), "armv7l"),
)
"""The platforms every release is resolved on (the issue's list, plus three where nothing runs)."""


def why_not_runs(info: BinaryInfo, platform: UserPlatform) -> str | None:
    """Why the file described by ``info`` cannot start on ``platform`` (``None`` when it can).

    Judged from the binary's own header facts, independently of any wheel tag: a static ELF runs on
    every Linux of its CPU; a dynamic one needs its C library (glibc at least the highest ``GLIBC_x.y``
    it uses); a Mach-O file needs its minimum macOS; a PE file needs its CPU.
    """
    if info.os != platform.os:
        return f"{info.name} is for {info.os}"
    if platform.arch not in info.archs:
        return f"{info.name} is for {'+'.join(info.archs)}"
    if info.format == "elf" and not info.static:
        if info.libc is None or info.libc != platform.libc:
            return f"{info.name} needs {info.libc or 'an unknown C library'}"
        if info.libc == "glibc" and info.glibc_version and platform.version < info.glibc_version:
            return f"{info.name} needs glibc {info.glibc_version[0]}.{info.glibc_version[1]}"
    if info.format == "macho":
        if info.macos_min is None:
            return f"{info.name} records no minimum macOS"
        if platform.version < info.macos_min:
            return f"{info.name} needs macOS {info.macos_min[0]}.{info.macos_min[1]}"
    return None


@dataclass(frozen=True)
class Expectation:
    """The runtime wheel that must install on a platform (``file`` ``None``: none may), and why.

    ``reason`` says why none may install; for a wheel that lacks what another wheel of the target holds
    (the lean one), what it lacks (``without codex-path/rg``)."""

    file: str | None
    reason: str


def _short(name: str) -> str:
    return name.removeprefix("codex_cli_bin/vendor/")


def expected_runtime(
    platform: UserPlatform, wheels: dict[Target, tuple[Path, ...]], binaries: dict[Path, list[BinaryInfo]]
) -> Expectation:
    """What pip must pick on ``platform``: of the wheels of its OS and CPU whose every binary can start
    there, the one with the most binaries (full over lean); none when no wheel's binaries all start."""
    target = next((t for t in wheels if t.os == platform.os and t.arch == platform.arch), None)
    if target is None:
        return Expectation(None, f"no release target for {platform.os} {platform.arch}")
    blocked: list[str] = []
    runnable: list[Path] = []
    for wheel in wheels[target]:
        blockers = [why for info in binaries[wheel] if (why := why_not_runs(info, platform)) is not None]
        if blockers:
            blocked.append(blockers[0])
        else:
            runnable.append(wheel)
    if not runnable:
        return Expectation(None, blocked[0])
    chosen = max(runnable, key=lambda wheel: (len(binaries[wheel]), wheel.name))
    most = {info.name for wheel in wheels[target] for info in binaries[wheel]}
    lacks = sorted(_short(name) for name in most - {info.name for info in binaries[chosen]})
    return Expectation(chosen.name, f"without {', '.join(lacks)}" if lacks else "")


def wheel_binaries(wheel: Path) -> list[BinaryInfo]:
    """The header facts of every executable inside a runtime wheel, read from memory through the checked reader."""
    infos: list[BinaryInfo] = []
    with WheelArchive(wheel) as archive:
        for member in archive.files():
            data = archive.read(member)
            if format_of(bytes(data[:8])) is not None:
                infos.append(inspect_bytes(data, member.name))
    return sorted(infos, key=lambda info: info.name)


@dataclass(frozen=True)
class Resolution:
    """What pip picked on one platform, and whether that is what the binaries allow."""

    platform: UserPlatform
    picked: dict[str, str]
    """Distribution name -> file name pip chose."""
    expected: Expectation
    error: str | None = None

    @property
    def ok(self) -> bool:
        if self.error is not None:
            return False
        return self.picked.get(RUNTIME_DISTRIBUTION) == self.expected.file

    @property
    def detail(self) -> str:
        if self.error is not None:
            return self.error
        runtime = self.picked.get(RUNTIME_DISTRIBUTION)
        if self.ok:
            if runtime is None:
                return f"none installs, as expected ({self.expected.reason})"
            return f"{runtime} ({self.expected.reason})" if self.expected.reason else runtime
        if self.expected.file is None:
            return f"picked {runtime}, but none may install ({self.expected.reason})"
        return f"picked {runtime or 'nothing'}, expected {self.expected.file}"


def _file_name(url: str) -> str:
    return unquote(Path(urlparse(url).path).name)


def _dry_run(
    requirements: Sequence[str], platform: UserPlatform, source_args: Sequence[str]
) -> tuple[dict[str, str] | None, str]:
    """pip's picks for ``requirements`` on ``platform`` (``None`` with pip's error when nothing resolves)."""
    args = ["install", "--dry-run", "--quiet", "--report", "-", "--ignore-installed", "--no-deps"]
    args += ["--only-binary=:all:", "--python-version", platform.python_version, "--no-cache-dir"]
    for tag in platform.platforms:
        args += ["--platform", tag]
    with tempfile.TemporaryDirectory(prefix="codex-resolve-") as cwd:
        result = run_pip([*args, *source_args, *requirements], env=isolated_pip_env(), cwd=Path(cwd))
    if result.returncode != 0:
        return None, pip_error(result)
    try:
        report = json.loads(result.stdout)
        picked = {
            str(canonicalize_name(item["metadata"]["name"])): _file_name(item["download_info"]["url"])
            for item in report["install"]
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailed(f"pip printed no usable --report ({exc}): upgrade pip to 23 or newer") from None
    return picked, ""


def resolve_on(files: ReleaseFiles, platform: UserPlatform, expected: Expectation) -> Resolution:
    """Resolve ``openai-codex==V`` and the SDK's runtime pin from DIST only, on ``platform``."""
    runtime_requirement = str(files.sdk_runtime_requirement())
    requirements = [f"{SDK_DISTRIBUTION}=={files.version}", runtime_requirement]
    source = ["--no-index", "--find-links", str(files.dist_dir.resolve())]
    picked, error = _dry_run(requirements, platform, source)
    if picked is None:
        if expected.file is None and RUNTIME_DISTRIBUTION in error:
            return Resolution(platform, {}, expected)
        return Resolution(platform, {}, expected, error=f"pip found no solution: {error}")
    sdk = picked.get(SDK_DISTRIBUTION)
    if sdk != files.require_sdk_wheel().name:
        return Resolution(platform, picked, expected, error=f"picked SDK {sdk}, expected {files.sdk_wheel}")
    return Resolution(platform, picked, expected)


def check_resolution(
    dist_dir: Path, version: CodexVersion, platforms: Sequence[UserPlatform] = USER_PLATFORMS
) -> list[Resolution]:
    """Resolver dry runs for every platform (two at a time), against the release in ``dist_dir``.

    The expected pick on each platform comes from the binaries inside the runtime wheels
    (:func:`why_not_runs`), not from their tags, so a wheel tagged for more than its binaries support
    (``macosx_10_9`` on a 10.12 binary, ``musllinux`` on a glibc helper) fails here.
    """
    files = read_release_files(dist_dir, version)
    wheels = files.require_all_runtime_wheels()
    files.sdk_runtime_requirement()
    every = files.all_runtime_wheels()
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            binaries = dict(zip(every, pool.map(wheel_binaries, every), strict=True))
        except OSError as exc:
            raise ArchiveRefused(f"cannot read a runtime wheel in {dist_dir}: {exc}: rebuild it") from None
        expectations = [expected_runtime(p, wheels, binaries) for p in platforms]
        return list(pool.map(lambda pe: resolve_on(files, *pe), zip(platforms, expectations, strict=True)))


def resolution_table(results: Sequence[Resolution]) -> list[tuple[str, str, str]]:
    """(platform, status, detail) rows."""
    return [(r.platform.name, "ok" if r.ok else "FAIL", r.detail) for r in results]


def _target_platform(target: Target) -> UserPlatform:
    """The most capable listed platform of ``target``'s OS and CPU (glibc rather than musl)."""
    candidates = [
        p for p in USER_PLATFORMS if p.os == target.os and p.arch == target.arch and p.libc in {None, "glibc"}
    ]
    if not candidates:
        raise FaultFound(f"no user platform for {target.triple}")
    return max(candidates, key=lambda p: p.version)


def _pip_pick(wheels: Sequence[Path], platform: UserPlatform) -> Path | None:
    """The wheel pip prefers on ``platform``: the one whose best tag comes first in the platform's list."""
    order = {tag: rank for rank, tag in enumerate(platform.platforms)}
    ranked = [
        (min(ranks), wheel.name, wheel)
        for wheel in wheels
        if (ranks := [order[t.platform] for t in parse_wheel_filename(wheel.name)[3] if t.platform in order])
    ]
    return min(ranked)[2] if ranked else None


def _checks(files: ReleaseFiles | None) -> list[tuple[str, UserPlatform, str | None]]:
    """(label, platform, expected file) per runtime wheel to look for on the index.

    Without DIST one per target, on its most capable platform. With DIST one per wheel: the first on the
    target's most capable platform (labelled by the triple), another (the lean one) on a listed platform of
    the target where pip must pick it (``aarch64-unknown-linux-musl on musl 1.2 aarch64``).
    """
    if files is None:
        return [(t.triple, _target_platform(t), None) for t in TARGETS]
    checks: list[tuple[str, UserPlatform, str | None]] = []
    for target, wheels in files.require_all_runtime_wheels().items():
        main = _target_platform(target)
        first = (_pip_pick(wheels, main) or wheels[0]).name
        checks.append((target.triple, main, first))
        found = {wheel.name for wheel in wheels} - {first}
        others = [p for p in USER_PLATFORMS if p.os == target.os and p.arch == target.arch and p != main]
        for platform in sorted(others, key=lambda p: (p.libc != "musl", p.version)):
            picked = _pip_pick(wheels, platform)
            if picked is not None and picked.name in found:
                found.discard(picked.name)
                checks.append((f"{target.triple} on {platform.name}", platform, picked.name))
        if found:
            raise FaultFound(
                f"no listed user platform installs {', '.join(sorted(found))} (its tags lose to the other wheel of "
                f"{target.triple} everywhere): rebuild {files.dist_dir}"
            )
    return checks


def index_visibility(
    version: CodexVersion, *, index_url: str | None, dist_dir: Path | None
) -> dict[str, tuple[bool, str]]:
    """For each runtime wheel: does the index serve it (and is it DIST's file)? Keyed by target (and, for a
    target's second wheel, the platform it was resolved on)."""
    checks = _checks(read_release_files(dist_dir, version) if dist_dir is not None else None)
    source = ["--index-url", index_url] if index_url else []

    def one(check: tuple[str, UserPlatform, str | None]) -> tuple[str, tuple[bool, str]]:
        label, platform, expected = check
        picked, error = _dry_run([f"{RUNTIME_DISTRIBUTION}=={version}"], platform, source)
        if picked is None:
            return label, (False, error)
        name = picked.get(RUNTIME_DISTRIBUTION, "")
        if expected is not None and name != expected:
            return label, (False, f"index serves {name}, expected {expected}")
        return label, (True, name)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, checks))


def wait_for_index(
    version: CodexVersion,
    *,
    index_url: str | None = None,
    dist_dir: Path | None = None,
    timeout_s: float = 900.0,
    interval_s: float = 15.0,
    echo: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Poll until every target's runtime wheel of ``version`` resolves from the index, or time out.

    ``index_url`` ``None`` means pip's default index (what users get). Each poll is a resolver dry run per
    target with no cache, so a page cached before the upload cannot hide the new files. Polls every
    ``interval_s`` through :func:`codex_release.core.polling.poll` (the loop ``verify-index`` uses too).
    """
    from codex_release.core.polling import Backoff, Outcome, poll

    def attempt() -> Outcome[dict[str, tuple[bool, str]]]:
        state = index_visibility(version, index_url=index_url, dist_dir=dist_dir)
        missing = sum(1 for ok, _ in state.values() if not ok)
        summary = (
            f"waiting for {missing} of {len(state)} runtime wheels to appear on the index"
            if missing
            else f"all {len(state)} runtime wheels are visible"
        )
        return Outcome(state, final=not missing, summary=summary)

    polled = poll(
        attempt,
        timeout_s=timeout_s,
        backoff=Backoff.fixed(interval_s),
        label="wait-for-index",
        echo=echo,
        clock=clock,
        sleep=sleep,
    )
    missing = {t: detail for t, (ok, detail) in polled.value.items() if not ok}
    if missing:
        first = next(iter(missing.items()))
        raise FaultFound(
            f"{RUNTIME_DISTRIBUTION}=={version} is not visible for {', '.join(missing)} after {timeout_s:.0f} s "
            f"({polled.attempts_line()}; {first[0]}: {first[1]}): check the upload, then rerun with a longer --timeout"
        )
    return {t: detail for t, (_, detail) in polled.value.items()}


def run_resolution_quietly(dist_dir: Path, version: CodexVersion) -> tuple[bool, list[tuple[str, str, str]]]:
    """``check_resolution`` as (all ok, table rows); toolkit errors become one failing row."""
    try:
        results = check_resolution(dist_dir, version)
    except ReleaseError as exc:
        return False, [("resolution", "FAIL", str(exc))]
    return all(r.ok for r in results), resolution_table(results)
