"""The facts one header read yields: :class:`BinaryInfo`, and how messages name each format.

The bottom of the package: the format readers build a :class:`BinaryInfo`, :mod:`codex_release.binaries`
hands it out, and nothing here imports either of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["BinaryFormat", "BinaryInfo", "Libc"]

BinaryFormat = Literal["elf", "macho", "pe"]
Libc = Literal["musl", "glibc"]


@dataclass(frozen=True)
class BinaryInfo:
    """What one executable or library says about the system it needs."""

    path: Path
    format: BinaryFormat
    os: str
    """``linux``, ``macos`` or ``windows`` for the files a wheel can carry; another name (``freebsd``,
    ``ios``, ``uefi``, ...) when the header says the file is for something else."""
    archs: tuple[str, ...]
    """``x86_64`` / ``aarch64`` (or another CPU name such as ``i386``, ``arm``, ``arm64e``). A universal
    Mach-O file lists one entry per slice."""
    kind: str
    """``executable``, ``shared library``, ``bundle``, ``object file``, ..."""
    static: bool | None = None
    """ELF only: no ``PT_INTERP`` and no ``DT_NEEDED``, so it runs on any Linux C library."""
    libc: Libc | None = None
    """ELF dynamic only: from the ``PT_INTERP`` path (or, for a library, ``DT_NEEDED`` and the
    ``GLIBC_*`` versions it needs). ``None`` when static or unknown."""
    glibc_version: tuple[int, int] | None = None
    """ELF only: the highest ``GLIBC_x.y`` symbol version the file needs."""
    macos_min: tuple[int, int] | None = None
    """Mach-O only: the highest minimum macOS over all slices (``LC_BUILD_VERSION`` minos or
    ``LC_VERSION_MIN_MACOSX``); ``None`` when no slice records one."""
    interpreter: str | None = None
    """ELF only: the ``PT_INTERP`` path, if any."""
    label: str = ""
    """How messages name the file (a path relative to the inspected tree); defaults to ``path``."""

    @property
    def name(self) -> str:
        """The file as messages name it."""
        return self.label or str(self.path)

    def describe(self, *, detail: bool = True) -> str:
        """One short phrase, e.g. ``ELF x86_64 executable, statically linked``; with
        ``detail=False`` only format, CPU, kind and a foreign OS (``ELF x86_64 executable``)."""
        arch = "+".join(self.archs)
        if not detail:
            universal = "universal " if len(self.archs) > 1 else ""
            text = f"{universal}{_FORMAT_NAMES[self.format]} {arch} {self.kind}"
            return text if self.os == _NATIVE_OS[self.format] else f"{text} for {self.os}"
        if self.format == "elf":
            text = f"ELF {arch} {self.kind}"
            if self.os != "linux":
                text += f" for {self.os}"
            if self.static:
                return text + ", statically linked"
            if self.libc == "glibc":
                need = f" {_dotted(self.glibc_version)}" if self.glibc_version else ""
                return text + f", dynamically linked against glibc{need}"
            if self.libc == "musl":
                return text + ", dynamically linked against musl"
            via = f" (interpreter {self.interpreter})" if self.interpreter else ""
            return text + f", dynamically linked against an unknown C library{via}"
        if self.format == "macho":
            universal = "universal " if len(self.archs) > 1 else ""
            text = f"{universal}Mach-O {arch} {self.kind}"
            if self.os != "macos":
                return text + f" for {self.os}"
            if self.macos_min is not None:
                return text + f" (macOS {_dotted(self.macos_min)}+)"
            return text + " (no minimum macOS recorded)"
        text = f"PE {arch} {self.kind}"
        return text if self.os == "windows" else text + f" for {self.os}"


_FORMAT_NAMES = {"elf": "ELF", "macho": "Mach-O", "pe": "PE"}
_NATIVE_OS = {"elf": "linux", "macho": "macos", "pe": "windows"}


def _dotted(version: tuple[int, ...] | None) -> str:
    return ".".join(str(part) for part in version or ())
