"""The one table of release targets. Workflows read it through ``codex-release matrix --json``.

Platform tags are *not* stored here: they are derived from the bytes of each staged binary
(see :mod:`codex_release.core.platform_tags`). The table says what each target must be built from and
what its binaries must be (OS and CPU), so a mismatched binary is caught before a wheel exists.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from typing import Literal

from codex_release.errors import InputRefused

__all__ = [
    "FIXED_RUNNERS",
    "GITHUB_HOSTED_RUNNERS",
    "RUNNERS_CHECKED",
    "TARGETS",
    "Target",
    "get_target",
    "host_target",
]

OperatingSystem = Literal["linux", "macos", "windows"]
Arch = Literal["x86_64", "aarch64"]


@dataclass(frozen=True)
class Target:
    """One Rust target triple that Codex ships and we build its runtime wheels for (one matrix job each)."""

    triple: str
    os: OperatingSystem
    arch: Arch
    npm_suffix: str
    """Suffix of the npm platform package version: ``@openai/codex@<version>-<npm_suffix>``."""
    exe_suffix: str
    runner: str
    """A native GitHub-hosted runner label for smoke-testing the wheel."""
    expected_tags: tuple[str, ...]
    """The platform tags the shipped binaries of this target are known to earn: those of its full wheel
    (checked by tests and by ``verify`` against what the binaries actually say)."""
    lean_tags: tuple[str, ...] = ()
    """The tags of the target's lean wheel, which leaves out an optional ``codex-path/`` helper that needs
    more than ``codex`` (:mod:`codex_release.core.variants`); empty when the target gives one wheel. Known
    values for tests and the docs: staging derives both from the binaries, never from this table."""

    @property
    def expected_wheels(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """``(variant, tags)`` of each wheel the target gives: ``full``, then ``lean`` if any."""
        return (("full", self.expected_tags), *((("lean", self.lean_tags),) if self.lean_tags else ()))

    @property
    def executable_name(self) -> str:
        return f"codex{self.exe_suffix}"

    def npm_spec(self, semver: str) -> str:
        return f"@openai/codex@{semver}-{self.npm_suffix}"

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["expected_tags"] = list(self.expected_tags)
        data["lean_tags"] = list(self.lean_tags)
        data["platform_tag"] = ".".join(self.expected_tags)
        data["wheels"] = [{"variant": name, "platform_tag": ".".join(tags)} for name, tags in self.expected_wheels]
        return data


def _linux(arch: Arch) -> tuple[str, ...]:
    # Static musl executables run on any Linux: tagged for musl and glibc alike.
    return (f"musllinux_1_1_{arch}", f"manylinux_2_17_{arch}", f"manylinux2014_{arch}")


TARGETS: tuple[Target, ...] = (
    Target("aarch64-apple-darwin", "macos", "aarch64", "darwin-arm64", "", "macos-15", ("macosx_11_0_arm64",)),
    Target("x86_64-apple-darwin", "macos", "x86_64", "darwin-x64", "", "macos-15-intel", ("macosx_10_12_x86_64",)),
    # 0.169.0's linux-arm64 codex-path/rg is a dynamic glibc executable needing GLIBC_2.18 (codex itself
    # is static): the wheel holding it can only honestly be tagged manylinux_2_18, and a lean wheel without
    # it serves musl and glibc 2.17 (Codex then uses the system's rg). One matrix job writes both.
    Target(
        "aarch64-unknown-linux-musl",
        "linux",
        "aarch64",
        "linux-arm64",
        "",
        "ubuntu-24.04-arm",
        ("manylinux_2_18_aarch64",),
        _linux("aarch64"),
    ),
    Target("x86_64-unknown-linux-musl", "linux", "x86_64", "linux-x64", "", "ubuntu-24.04", _linux("x86_64")),
    Target("aarch64-pc-windows-msvc", "windows", "aarch64", "win32-arm64", ".exe", "windows-11-arm", ("win_arm64",)),
    Target("x86_64-pc-windows-msvc", "windows", "x86_64", "win32-x64", ".exe", "windows-2022", ("win_amd64",)),
)

# ------------------------------------------------------------------------------------------ runners
RUNNERS_CHECKED = "2026-12-01"
"""When :data:`GITHUB_HOSTED_RUNNERS` was last compared with GitHub's list of hosted runner images."""

GITHUB_HOSTED_RUNNERS: dict[str, tuple[OperatingSystem, Arch]] = {
    # Standard GitHub-hosted runner labels that still schedule a runner (actions/runner-images), with
    # the OS and CPU of the machine behind each. Retired and never to be used again: macos-11, macos-12,
    # macos-13 (December 2025), macos-14 (November 2026), ubuntu-20.04, windows-2019. A label missing
    # here makes the workflow tests fail: check the runner images list, then update this table and
    # RUNNERS_CHECKED together.
    "ubuntu-latest": ("linux", "x86_64"),
    "ubuntu-22.04": ("linux", "x86_64"),
    "ubuntu-24.04": ("linux", "x86_64"),
    "ubuntu-26.04": ("linux", "x86_64"),
    "ubuntu-22.04-arm": ("linux", "aarch64"),
    "ubuntu-24.04-arm": ("linux", "aarch64"),
    "ubuntu-26.04-arm": ("linux", "aarch64"),
    "windows-latest": ("windows", "x86_64"),
    "windows-2022": ("windows", "x86_64"),
    "windows-2025": ("windows", "x86_64"),
    "windows-11-arm": ("windows", "aarch64"),
    "macos-latest": ("macos", "aarch64"),
    "macos-15": ("macos", "aarch64"),
    "macos-26": ("macos", "aarch64"),
    "macos-15-intel": ("macos", "x86_64"),
    "macos-26-intel": ("macos", "x86_64"),
}

FIXED_RUNNERS: dict[str, str] = {
    # The runner labels written literally in the workflows (jobs outside the target matrix), by role.
    # The workflow tests hold every literal `runs-on` label to this table and to GITHUB_HOSTED_RUNNERS.
    "linux": "ubuntu-24.04",  # every non-matrix job of ci.yml and release.yml
    "macos": "macos-15",  # ci.yml: the SDK's real-runtime tests on macOS (arm64)
    "windows": "windows-2022",  # ci.yml: the SDK's real-runtime tests on Windows (x64)
}

_BY_TRIPLE = {target.triple: target for target in TARGETS}


def get_target(triple: str) -> Target:
    """Look a target up by its Rust triple; unknown triples are a :class:`ReleaseError`."""
    try:
        return _BY_TRIPLE[triple]
    except KeyError:
        known = ", ".join(_BY_TRIPLE)
        raise InputRefused(f"unknown target {triple!r}: use one of {known}") from None


_HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_HOST_OS = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}


def host_target() -> Target:
    """The release target whose binaries run on this machine (Linux: the static musl build)."""
    system, machine = platform.system(), platform.machine()
    os_name, arch = _HOST_OS.get(system), _HOST_ARCH.get(machine.lower())
    for target in TARGETS:
        if (target.os, target.arch) == (os_name, arch):
            return target
    raise InputRefused(
        f"no Codex runtime is published for this host ({system} {machine}): pass --codex-bin PATH "
        "to a codex binary that runs here"
    )
