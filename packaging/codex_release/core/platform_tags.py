"""Wheel platform tags earned by the binaries that go into a runtime wheel.

The tag set is the tightest one that every file satisfies, derived from the headers read by
:mod:`codex_release.binaries`, never from the host that runs the staging:

* Linux, every file static (no ``PT_INTERP``, no ``DT_NEEDED``; the real Codex packages for
  x86_64): ``musllinux_1_1_<arch>``, ``manylinux_2_17_<arch>`` and its legacy alias
  ``manylinux2014_<arch>``, so one wheel installs on Alpine and Debian alike. 2.17 is the floor:
  it is the oldest glibc pip still has a tag for on every supported architecture (aarch64 starts
  there) and what the ``manylinux2014`` alias means to pips older than PEP 600.
* Linux with a dynamic glibc file: ``manylinux_2_<N>_<arch>`` with ``N`` the highest
  ``GLIBC_2.N`` any file needs (at least 17), plus ``manylinux2014_<arch>`` when ``N`` is 17;
  no musllinux tag, since musl systems lack glibc.
* Linux with a dynamic musl file: ``musllinux_1_1_<arch>`` only. (A file needing musl and
  another needing glibc cannot share a wheel: an error.)
* macOS: ``macosx_<X>_<Y>_<arch>`` with X.Y the highest minimum macOS over every Mach-O file
  (arm64 never below 11.0, x86_64 never below 10.4: pip offers no lower tags for them). From
  macOS 11 on, pip generates only ``macosx_<X>_0`` tags (on macOS 14.5 it offers
  ``macosx_14_0``, ``macosx_13_0``, ... but never ``macosx_14_2``), so a minimum of 14.2 rounds
  *up* to ``macosx_15_0``: ``macosx_14_2`` would never install anywhere and ``macosx_14_0``
  would install on 14.0 and 14.1, where the binary cannot start.
  A minimum of 10.16 (how macOS 11 presents itself to old SDKs) is 11.0.
* Windows: ``win_amd64`` / ``win_arm64``.

A requested tag (``stage-runtime --platform-tag``) and the tags of a wheel under ``verify`` are judged by
one function, :func:`tag_problem`: every part must be honoured by every file and be no lower than the
floors above (``manylinux1``, ``manylinux_2_5`` .. ``_2_16``, ``musllinux_1_0`` and a macOS version below
the architecture's floor are refused even for static binaries, since verify would refuse the wheel).
Numbers in a tag are bounded (at most four digits) and macOS compatibility is computed, never by
listing pip's tags (``macosx_99999999_0`` would be a hundred million of them).

Every file must be for the target's OS and CPU (a universal Mach-O file must hold the target's
slice); anything else is a :class:`~codex_release.errors.ReleaseError` naming the file, what it
is and what the target needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from codex_release.binaries import BinaryInfo
from codex_release.core.targets import TARGETS, Target
from codex_release.errors import InputRefused

__all__ = [
    "check_requested_tags",
    "check_target_binaries",
    "derive_platform_tags",
    "expand_tag_set",
    "pip_generates_macos_tag",
    "tag_problem",
]

MANYLINUX_FLOOR = (2, 17)
MUSLLINUX_FLOOR = (1, 1)
MACOS_FLOOR = {"x86_64": (10, 4), "aarch64": (11, 0)}
"""pip offers no x86_64 tag below macOS 10.4 and no arm64 tag below 11.0 on a real arm64 Mac."""

_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_LEGACY_ARCHS = {
    "manylinux1": {"x86_64", "i686"},
    "manylinux2010": {"x86_64", "i686"},
    "manylinux2014": {"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"},
}
_MACOS_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}
_MACOS_TAG_ARCHS = {
    "x86_64": {"x86_64"},
    "arm64": {"aarch64"},
    "universal2": {"x86_64", "aarch64"},
    "intel": {"i386", "x86_64"},
    "i386": {"i386"},
}
_WINDOWS_TAGS = {"x86_64": "win_amd64", "aarch64": "win_arm64", "i386": "win32"}
_OS_NAMES = {"linux": "Linux (ELF)", "macos": "macOS (Mach-O)", "windows": "Windows (PE)"}
_FORMAT_OF_OS = {"linux": "elf", "macos": "macho", "windows": "pe"}

_TAG_PART = re.compile(r"[a-z0-9_]+")
_TAG_NUMBER = re.compile(r"[0-9]+")
_MAX_TAG_NUMBER_DIGITS = 4
"""No glibc, musl or macOS release, nor a legacy alias (``manylinux2014``), needs more digits."""
_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_([a-z0-9_]+)")
_LEGACY = re.compile(r"(manylinux1|manylinux2010|manylinux2014)_([a-z0-9_]+)")
_MUSLLINUX = re.compile(r"musllinux_(\d+)_(\d+)_([a-z0-9_]+)")
_MACOSX = re.compile(r"macosx_(\d+)_(\d+)_([a-z0-9_]+)")


def _a(description: str) -> str:
    return ("an " if description.startswith("ELF") else "a ") + description


def _is(info: BinaryInfo, *, detail: bool = True) -> str:
    return f"{info.name} is {_a(info.describe(detail=detail))}"


# --------------------------------------------------------------------------------------------
# Binaries vs target
# --------------------------------------------------------------------------------------------


def check_target_binaries(infos: Sequence[BinaryInfo], target: Target) -> None:
    """Refuse any file that is not for ``target``'s OS and CPU, and an empty list."""
    if not infos:
        raise InputRefused(
            f"no ELF, Mach-O or PE file to derive {target.triple} platform tags from: stage a package with its binaries"
        )
    for info in infos:
        if info.os != target.os or info.format != _FORMAT_OF_OS[target.os]:
            raise InputRefused(
                f"{_is(info, detail=False)} but target {target.triple} needs {_OS_NAMES[target.os]} binaries"
                f"{_hint(info)}"
            )
        if target.arch not in info.archs:
            raise InputRefused(f"{_is(info, detail=False)} but target {target.triple} needs {target.arch}{_hint(info)}")


def _hint(info: BinaryInfo) -> str:
    matches = [t.triple for t in TARGETS if t.os == info.os and t.arch in info.archs]
    if len(matches) == 1:
        return f": stage it for --target {matches[0]} or use the right platform package"
    return ": use the platform package built for this target"


# --------------------------------------------------------------------------------------------
# Derivation
# --------------------------------------------------------------------------------------------


def derive_platform_tags(infos: Sequence[BinaryInfo], target: Target) -> tuple[str, ...]:
    """The tightest platform tags that every one of ``infos`` satisfies on ``target``."""
    check_target_binaries(infos, target)
    if target.os == "linux":
        return _linux_tags(infos, target.arch)
    if target.os == "macos":
        version = pip_macos_version(macos_requirement(infos, target.arch))
        return (f"macosx_{version[0]}_{version[1]}_{_MACOS_ARCH[target.arch]}",)
    return (_WINDOWS_TAGS[target.arch],)


def _linux_tags(infos: Sequence[BinaryInfo], arch: str) -> tuple[str, ...]:
    dynamic = [info for info in infos if not info.static]
    for info in dynamic:
        if info.libc is None:
            raise InputRefused(
                f"{_is(info)}: its C library cannot be told from its headers, so no manylinux or musllinux "
                "tag fits it; leave it out or rebuild it static or against glibc or musl"
            )
    musl = [info for info in dynamic if info.libc == "musl"]
    glibc = [info for info in dynamic if info.libc == "glibc"]
    if musl and glibc:
        raise InputRefused(
            f"{musl[0].name} needs musl but {glibc[0].name} needs glibc: no Linux system has both, so no "
            "single wheel tag fits them; leave one out or rebuild it static"
        )
    if glibc:
        major, minor = glibc_requirement(infos)
        tags = [f"manylinux_{major}_{minor}_{arch}"]
        tags += [f"{legacy}_{arch}" for legacy, version in _LEGACY_MANYLINUX.items() if version == (major, minor)]
        return tuple(tags)
    musllinux = f"musllinux_{MUSLLINUX_FLOOR[0]}_{MUSLLINUX_FLOOR[1]}_{arch}"
    if musl:
        return (musllinux,)
    major, minor = MANYLINUX_FLOOR
    return (musllinux, f"manylinux_{major}_{minor}_{arch}", f"manylinux2014_{arch}")


def glibc_requirement(infos: Sequence[BinaryInfo]) -> tuple[int, int]:
    """The oldest glibc every file runs on: the highest ``GLIBC_x.y`` needed, at least 2.17."""
    needed = [info.glibc_version for info in infos if info.libc == "glibc" and info.glibc_version]
    return max([MANYLINUX_FLOOR, *needed])


def macos_requirement(infos: Sequence[BinaryInfo], arch: str) -> tuple[int, int]:
    """The highest minimum macOS over every Mach-O file, at least the architecture's floor."""
    for info in infos:
        if info.macos_min is None:
            raise InputRefused(
                f"{_is(info)}: it records no minimum macOS (no LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX), "
                "so no macosx tag can be derived; rebuild it with a deployment target"
            )
    needed = max(info.macos_min for info in infos if info.macos_min is not None)
    return max(needed, MACOS_FLOOR.get(arch, (10, 0)))


def pip_macos_version(version: tuple[int, int]) -> tuple[int, int]:
    """The lowest macOS version pip has a tag for that is at least ``version``.

    Up to 10.15 every minor release has tags. 10.16 is macOS 11 as old SDKs see it. From 11 on pip
    generates only ``X_0`` tags, so X.Y with Y > 0 rounds up to (X+1).0.
    """
    major, minor = version
    if major == 10 and minor >= 16:
        return (11, 0)
    if major >= 11 and minor > 0:
        return (major + 1, 0)
    return version


# --------------------------------------------------------------------------------------------
# Requested tags
# --------------------------------------------------------------------------------------------


def expand_tag_set(platform: str) -> tuple[str, ...]:
    """Split a (possibly compressed, ``a.b.c``) platform tag field into its parts, in order,
    without duplicates. Only the syntax is checked here."""
    if not platform:
        raise InputRefused("empty platform tag: pass e.g. --platform-tag manylinux_2_17_x86_64")
    if "-" in platform:
        raise InputRefused(
            f"platform tag {_shown(platform)} contains '-': pass only the platform part (e.g. win_amd64), "
            "not a whole py3-none-... tag"
        )
    parts: list[str] = []
    for part in platform.split("."):
        longest = max((len(run) for run in _TAG_NUMBER.findall(part)), default=0)
        if longest > _MAX_TAG_NUMBER_DIGITS:
            raise InputRefused(
                f"platform tag part {_shown(part)} has a {longest}-digit number: no glibc, musl or macOS release "
                f"is numbered that high (at most {_MAX_TAG_NUMBER_DIGITS} digits); pass e.g. manylinux_2_17_x86_64 "
                "or macosx_11_0_arm64"
            )
        if len(part) > 100:
            raise InputRefused(f"platform tag part {_shown(part)} is too long: pass e.g. manylinux_2_17_x86_64")
        if not _TAG_PART.fullmatch(part):
            raise InputRefused(
                f"platform tag {_shown(platform)} has an invalid part {_shown(part)}: parts are lowercase letters, "
                "digits and underscores, joined by '.'"
            )
        if part not in parts:
            parts.append(part)
    return tuple(parts)


def check_requested_tags(requested: str, infos: Sequence[BinaryInfo], target: Target) -> tuple[str, ...]:
    """Accept a requested platform tag (set) only when every part is honoured by every file.

    Returns the expanded parts. A part that some file cannot honour is a :class:`ReleaseError`
    naming the part, the file and why, together with the tags the files do earn.
    """
    parts = expand_tag_set(requested)
    earned = derive_platform_tags(infos, target)
    for part in parts:
        problem = tag_problem(part, infos, target)
        if problem is not None:
            raise InputRefused(f"--platform-tag {part} cannot be used: {problem}; the binaries earn {'.'.join(earned)}")
    return parts


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text)} characters)"


def tag_problem(part: str, infos: Sequence[BinaryInfo], target: Target) -> str | None:
    """Why the platform tag ``part`` may not label a wheel of ``infos`` for ``target`` (None when it may).

    The one judgement of a tag: ``stage-runtime --platform-tag`` refuses with it, ``verify`` faults
    with it. A part must be honoured by every file and lie on or above the documented floors.
    """
    if max((len(run) for run in _TAG_NUMBER.findall(part)), default=0) > _MAX_TAG_NUMBER_DIGITS:
        return f"{_shown(part)} has a number no glibc, musl or macOS release has"
    if m := _MANYLINUX.fullmatch(part):
        return _why_not_linux(part, "glibc", (int(m.group(1)), int(m.group(2))), m.group(3), infos)
    if m := _LEGACY.fullmatch(part):
        alias, arch = m.group(1), m.group(2)
        if arch not in _LEGACY_ARCHS[alias]:
            return f"{alias} is not defined for {arch} (it covers {', '.join(sorted(_LEGACY_ARCHS[alias]))})"
        return _why_not_linux(part, "glibc", _LEGACY_MANYLINUX[alias], arch, infos)
    if m := _MUSLLINUX.fullmatch(part):
        return _why_not_linux(part, "musl", (int(m.group(1)), int(m.group(2))), m.group(3), infos)
    if m := _MACOSX.fullmatch(part):
        return _why_not_macos(part, (int(m.group(1)), int(m.group(2))), m.group(3), infos, target)
    if part in _WINDOWS_TAGS.values():
        arch = next(a for a, tag in _WINDOWS_TAGS.items() if tag == part)
        for info in infos:
            if info.format != "pe":
                return f"{part} is a Windows tag but {_is(info)}"
            if info.archs != (arch,):
                return f"{part} is for {arch} but {_is(info)}"
        return None
    if part.startswith("linux_"):
        return f"{part} is a plain Linux tag, which package indexes refuse; use manylinux_* or musllinux_*"
    if part == "any":
        return "'any' claims the wheel runs everywhere, but it holds platform binaries"
    return (
        f"{part!r} is not a platform tag this toolkit understands (expected manylinux_X_Y_ARCH, "
        "manylinux2014_ARCH, musllinux_X_Y_ARCH, macosx_X_Y_ARCH, win_amd64 or win_arm64)"
    )


def _why_not_linux(
    part: str, libc: str, version: tuple[int, int], arch: str, infos: Sequence[BinaryInfo]
) -> str | None:
    floor = MANYLINUX_FLOOR if libc == "glibc" else MUSLLINUX_FLOOR
    if version < floor:
        system = "manylinux" if libc == "glibc" else "musllinux"
        alias = " (manylinux2014)" if libc == "glibc" else ""
        return (
            f"{part} promises {libc} {version[0]}.{version[1]}, below the {system}_{floor[0]}_{floor[1]}{alias} floor "
            f"the toolkit documents and verify enforces; use {system}_{floor[0]}_{floor[1]}_{arch}"
        )
    for info in infos:
        if info.format != "elf" or info.os != "linux":
            return f"{part} is a Linux tag but {_is(info)}"
        if info.archs != (arch,):
            return f"{part} is for {arch} but {_is(info)}"
        if info.static:
            continue
        if info.libc != libc:
            system = "manylinux" if libc == "glibc" else "musllinux"
            return f"{_is(info)}, and a {system} system has no {info.libc or 'such C library'}"
        if libc == "glibc":
            need = max(MANYLINUX_FLOOR, info.glibc_version or MANYLINUX_FLOOR)
            if version < need:
                return (
                    f"{_is(info)}, which needs glibc {need[0]}.{need[1]} but {part} promises {version[0]}.{version[1]}"
                )
        elif version < MUSLLINUX_FLOOR:
            return f"{part} promises musl {version[0]}.{version[1]}, older than the musl 1.1 the toolkit can vouch for"
    return None


def _why_not_macos(
    part: str, version: tuple[int, int], tag_arch: str, infos: Sequence[BinaryInfo], target: Target
) -> str | None:
    archs = _MACOS_TAG_ARCHS.get(tag_arch)
    if archs is None:
        return f"{part} names macOS architecture {tag_arch!r}, which the toolkit cannot check"
    if target.arch not in archs:
        return f"{part} is for {'+'.join(sorted(archs))} but target {target.triple} is {target.arch}"
    if not pip_generates_macos_tag(version, tag_arch):
        fix = pip_macos_version(max(version, (10, 4)))
        return (
            f"pip never generates {part} (from macOS 11 on it only offers macosx_X_0 tags), so the wheel would "
            f"never install; use macosx_{fix[0]}_{fix[1]}_{tag_arch}"
        )
    floor = MACOS_FLOOR[target.arch]
    if _normalise_macos(version) < floor:
        return (
            f"{part} promises macOS {version[0]}.{version[1]}, below the macOS {floor[0]}.{floor[1]} floor of "
            f"{target.arch} the toolkit documents and verify enforces; use macosx_{floor[0]}_{floor[1]}_{tag_arch}"
        )
    for info in infos:
        if info.format != "macho" or info.os != "macos":
            return f"{part} is a macOS tag but {_is(info)}"
        missing = sorted(archs - set(info.archs))
        if missing:
            return f"{part} is for {'+'.join(sorted(archs))} but {_is(info)} (no {'+'.join(missing)} slice)"
        need = macos_requirement([info], "aarch64" if "aarch64" in archs else "x86_64")
        if _normalise_macos(version) < need:
            return f"{_is(info)}, which needs macOS {need[0]}.{need[1]} but {part} promises {version[0]}.{version[1]}"
    return None


def pip_generates_macos_tag(version: tuple[int, int], tag_arch: str) -> bool:
    """Whether ``packaging.tags.mac_platforms`` (what pip installs by) ever yields ``macosx_<version>_<tag_arch>``.

    Computed from the rules of that generator instead of listing its output, which for a version X.0
    walks every major release from X down to 11 (``macosx_99999999_0`` took 29 s and gigabytes, then a
    MemoryError): a 10.Y version yields its own tag (x86_64 and i386 formats from 10.4 on), from 11 on only
    ``X_0`` versions do; nothing below 10 does. ``tests/test_platform_tags.py`` checks this against
    ``mac_platforms`` over a grid of versions and formats.
    """
    major, minor = version
    if major >= 11:
        return minor == 0
    if major == 10:
        return not (tag_arch in _FORMATS_FROM_10_4 and minor < 4)
    return False


_FORMATS_FROM_10_4 = {"x86_64", "i386"}
"""``mac_platforms`` yields no tag of these formats below 10.4; the others have no such cut."""


def _normalise_macos(version: tuple[int, int]) -> tuple[int, int]:
    return (11, 0) if version[0] == 10 and version[1] >= 16 else version
