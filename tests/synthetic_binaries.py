"""Small synthetic executables for tests: ELF, Mach-O (thin and universal) and PE, built with struct.

Each builder returns the bytes of a well-formed file of a few hundred bytes that carries exactly the
header facts the release toolkit reads (CPU, file kind, interpreter, needed libraries, ``GLIBC_x.y``
versions, minimum macOS, PE machine). ``readelf``, ``file`` and pefile accept them.

    make_elf("x86_64")                                          # static executable (like codex)
    make_elf("x86_64", pie=True)                                # static-pie executable
    make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.17", "2.28"))
    make_elf("x86_64", static=False, libc="musl")               # dynamic musl executable
    make_elf("x86_64", kind="shared library", static=False, libc="glibc", glibc_versions=("2.14",))
    make_macho("aarch64", minos=(11, 0))                        # LC_BUILD_VERSION
    make_macho("x86_64", minos=(10, 12), cmd="version_min")     # LC_VERSION_MIN_MACOSX
    make_fat_macho([make_macho("x86_64"), make_macho("aarch64")])
    make_pe("aarch64", kind="dll")

``write_binary(path, data)`` writes one file (parents created, mode 0o755) and
``write_platform_package(root, triple)`` lays out a whole minimal Codex platform package
(``codex-package.json``, ``bin/``, ``codex-path/``, ``codex-resources/``, optionally ``voice/``)
whose binaries earn that target's expected tags; ``npm_tarball(root, triple, out)`` packs it as npm
publishes it (``package/vendor/<triple>/...``, modes kept).

Architectures use the toolkit's names: ``x86_64``, ``aarch64``, plus ``i386``, ``arm``,
``riscv64``, ``ppc64le``, ``s390x`` (ELF), ``arm64e``, ``i386``, ``ppc`` (Mach-O) and ``i386``, ``arm``
(PE) for wrong-architecture cases.
"""

from __future__ import annotations

import json
import struct
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "ELF_INTERPRETERS",
    "make_elf",
    "make_fat_macho",
    "make_macho",
    "make_pe",
    "write_binary",
    "write_platform_package",
]

# ---------------------------------------------------------------------------------------------
# ELF
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ElfArch:
    machine: int
    bits: int
    endian: str


_ELF_ARCHS = {
    "x86_64": _ElfArch(62, 64, "<"),
    "aarch64": _ElfArch(183, 64, "<"),
    "i386": _ElfArch(3, 32, "<"),
    "arm": _ElfArch(40, 32, "<"),
    "riscv64": _ElfArch(243, 64, "<"),
    "ppc64le": _ElfArch(21, 64, "<"),
    "s390x": _ElfArch(22, 64, ">"),
}

ELF_INTERPRETERS = {
    ("glibc", "x86_64"): "/lib64/ld-linux-x86-64.so.2",
    ("glibc", "aarch64"): "/lib/ld-linux-aarch64.so.1",
    ("glibc", "i386"): "/lib/ld-linux.so.2",
    ("glibc", "arm"): "/lib/ld-linux-armhf.so.3",
    ("glibc", "riscv64"): "/lib/ld-linux-riscv64-lp64d.so.1",
    ("glibc", "ppc64le"): "/lib64/ld64.so.2",
    ("glibc", "s390x"): "/lib/ld64.so.1",
}
"""Default ``PT_INTERP`` for glibc; musl's is ``/lib/ld-musl-<arch>.so.1``."""

_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_SONAME = 0, 1, 5, 10, 14
_DT_FLAGS_1, _DT_VERNEED, _DT_VERNEEDNUM = 0x6FFFFFFB, 0x6FFFFFFE, 0x6FFFFFFF
_DF_1_PIE = 0x08000000
_SHT_PROGBITS, _SHT_STRTAB, _SHT_DYNAMIC, _SHT_VERNEED = 1, 3, 6, 0x6FFFFFFE


def _elf_hash(name: bytes) -> int:
    h = 0
    for byte in name:
        h = (h << 4) + byte
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


class _StrTab:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.data)
            self.data += text.encode() + b"\0"
        return self.index[text]


def _align(blob: bytearray, alignment: int) -> None:
    blob += b"\0" * (-len(blob) % alignment)


def make_elf(
    arch: str = "x86_64",
    *,
    static: bool = True,
    libc: Literal["glibc", "musl"] | None = "glibc",
    glibc_versions: Sequence[str] = (),
    kind: Literal["executable", "shared library"] = "executable",
    pie: bool = False,
    interpreter: str | None = None,
    needed: Sequence[str] | None = None,
    osabi: int = 0,
    section_headers: bool = True,
) -> bytes:
    """An ELF file for ``arch``.

    ``static=True``: no ``PT_INTERP`` and no ``DT_NEEDED`` (with ``pie=True`` a static-pie
    executable with a dynamic section, like the x86_64 ``codex``). ``static=False``: an executable gets
    ``PT_INTERP`` (``interpreter`` or the default for ``libc``; ``libc=None`` requires ``interpreter``)
    and every dynamic file gets ``DT_NEEDED`` (``needed`` or ``libc.so.6`` / ``libc.musl-<arch>.so.1``)
    plus a ``DT_VERNEED`` entry listing ``GLIBC_<v>`` for each of ``glibc_versions``.
    ``kind="shared library"`` makes an ``ET_DYN`` with a ``DT_SONAME`` and no interpreter.
    ``osabi`` sets ``EI_OSABI`` (9 is FreeBSD). ``section_headers=False`` strips the section table.
    """
    spec = _ELF_ARCHS[arch]
    e, wide = spec.endian, spec.bits == 64
    addr = "Q" if wide else "I"
    shared = kind == "shared library"
    if static:
        interp, libs = None, list(needed or ())
        if libs:
            raise ValueError("a static ELF has no DT_NEEDED")
    else:
        if libc is None and interpreter is None and not shared:
            raise ValueError("libc=None needs an explicit interpreter")
        default_interp = ELF_INTERPRETERS.get((libc, arch)) if libc == "glibc" else f"/lib/ld-musl-{arch}.so.1"
        interp = None if shared else (interpreter or default_interp)
        default_needed = {"glibc": ["libc.so.6"], "musl": [f"libc.musl-{arch}.so.1"]}.get(libc or "", [])
        libs = list(needed if needed is not None else default_needed)
    versions = [f"GLIBC_{v}" for v in glibc_versions]
    has_dynamic = not static or pie or shared
    is_dyn = pie or shared

    ehsize, phentsize, shentsize = (64, 56, 64) if wide else (52, 32, 40)
    base = 0 if is_dyn else 0x400000
    phnum = 1 + (interp is not None) + has_dynamic
    blob = bytearray(ehsize + phnum * phentsize)

    interp_off = len(blob)
    if interp is not None:
        blob += interp.encode() + b"\0"

    dynstr = _StrTab()
    needed_idx = [dynstr.add(lib) for lib in libs]
    soname_idx = dynstr.add("libsynthetic.so.1") if shared else None
    verneed_file = dynstr.add(libs[0] if libs else "libc.so.6") if versions else None
    version_idx = [dynstr.add(v) for v in versions]
    _align(blob, 8)
    dynstr_off = len(blob)
    if has_dynamic:
        blob += dynstr.data

    _align(blob, 8)
    verneed_off = len(blob)
    if versions:
        blob += struct.pack(e + "HHIII", 1, len(versions), verneed_file, 16, 0)
        for i, (name, idx) in enumerate(zip(versions, version_idx, strict=True)):
            nxt = 16 if i + 1 < len(versions) else 0
            blob += struct.pack(e + "IHHII", _elf_hash(name.encode()), 0, i + 2, idx, nxt)

    _align(blob, 8)
    dynamic_off = len(blob)
    if has_dynamic:
        entries = [(_DT_NEEDED, i) for i in needed_idx]
        if soname_idx is not None:
            entries.append((_DT_SONAME, soname_idx))
        entries += [(_DT_STRTAB, base + dynstr_off), (_DT_STRSZ, len(dynstr.data))]
        if versions:
            entries += [(_DT_VERNEED, base + verneed_off), (_DT_VERNEEDNUM, 1)]
        if is_dyn and not shared:
            entries.append((_DT_FLAGS_1, _DF_1_PIE))
        entries.append((_DT_NULL, 0))
        dyn_format = e + ("qQ" if wide else "iI")
        for tag, value in entries:
            blob += struct.pack(dyn_format, tag, value)
    dynamic_end = len(blob)

    # Section headers: null, then one per piece present, then .shstrtab.
    shstr = _StrTab()
    sections: list[tuple[int, int, int, int, int, int]] = []  # name, type, offset, size, link, entsize
    unloaded: set[int] = set()  # offsets of sections that are not part of the loaded image
    if section_headers:
        if interp is not None:
            sections.append((shstr.add(".interp"), _SHT_PROGBITS, interp_off, len(interp) + 1, 0, 0))
        if has_dynamic:
            sections.append((shstr.add(".dynstr"), _SHT_STRTAB, dynstr_off, len(dynstr.data), 0, 0))
            dynstr_index = len(sections)
            if versions:
                size = 16 * (1 + len(versions))
                sections.append((shstr.add(".gnu.version_r"), _SHT_VERNEED, verneed_off, size, dynstr_index, 0))
            entsize = 16 if wide else 8
            sections.append(
                (shstr.add(".dynamic"), _SHT_DYNAMIC, dynamic_off, dynamic_end - dynamic_off, dynstr_index, entsize)
            )
        shstrtab_name = shstr.add(".shstrtab")
        _align(blob, 8)
        unloaded.add(len(blob))
        sections.append((shstrtab_name, _SHT_STRTAB, len(blob), len(shstr.data), 0, 0))
        blob += shstr.data
        _align(blob, 8)
    shoff = len(blob) if section_headers else 0
    if section_headers:
        blob += b"\0" * shentsize
        for name_index, sh_type, offset, size, link, entsize in sections:
            info = 1 if sh_type == _SHT_VERNEED else 0
            blob += struct.pack(
                e + f"II{addr}{addr}{addr}{addr}II{addr}{addr}",
                name_index,
                sh_type,
                0,
                0 if offset in unloaded else base + offset,
                offset,
                size,
                link,
                info,
                1,
                entsize,
            )
    shnum = 1 + len(sections) if section_headers else 0

    e_type = 3 if is_dyn else 2
    entry = base + ehsize if kind == "executable" else 0
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if e == "<" else 2, 1, osabi]) + b"\0" * 8
    header = ident + struct.pack(
        e + f"HHI{addr}{addr}{addr}IHHHHHH",
        e_type,
        spec.machine,
        1,
        entry,
        ehsize,
        shoff,
        0,
        ehsize,
        phentsize,
        phnum,
        shentsize,
        shnum,
        shnum - 1 if section_headers else 0,
    )
    blob[:ehsize] = header

    phdrs = bytearray()

    def phdr(p_type: int, offset: int, size: int, flags: int, align: int) -> None:
        if wide:
            phdrs.extend(
                struct.pack(e + "IIQQQQQQ", p_type, flags, offset, base + offset, base + offset, size, size, align)
            )
        else:
            phdrs.extend(
                struct.pack(e + "IIIIIIII", p_type, offset, base + offset, base + offset, size, size, flags, align)
            )

    phdr(_PT_LOAD, 0, len(blob), 5, 0x1000)
    if interp is not None:
        phdr(_PT_INTERP, interp_off, len(interp) + 1, 4, 1)
    if has_dynamic:
        phdr(_PT_DYNAMIC, dynamic_off, dynamic_end - dynamic_off, 6, 8)
    blob[ehsize : ehsize + len(phdrs)] = phdrs
    return bytes(blob)


# ---------------------------------------------------------------------------------------------
# Mach-O
# ---------------------------------------------------------------------------------------------

_MACHO_CPUS = {  # arch: (cputype, cpusubtype, 64-bit, endian)
    "x86_64": (0x01000007, 3, True, "<"),
    "aarch64": (0x0100000C, 0, True, "<"),
    "arm64e": (0x0100000C, 2, True, "<"),
    "i386": (7, 3, False, "<"),
    "arm": (12, 9, False, "<"),
    "ppc": (18, 0, False, ">"),
}
_MACHO_FILETYPES = {"executable": 2, "shared library": 6, "bundle": 8, "object file": 1}
_BUILD_PLATFORMS = {"macos": 1, "ios": 2, "tvos": 3, "watchos": 4, "maccatalyst": 6, "visionos": 11}
_VERSION_MIN_CMDS = {"macos": 0x24, "ios": 0x25, "tvos": 0x2F, "watchos": 0x30}
_LC_UUID, _LC_BUILD_VERSION, _LC_MAIN = 0x1B, 0x32, 0x80000028


def _pack_version(version: Sequence[int]) -> int:
    major, minor, patch = (*version, 0, 0)[:3]
    return (major << 16) | (minor << 8) | patch


def make_macho(
    arch: str = "aarch64",
    *,
    minos: Sequence[int] = (11, 0),
    cmd: Literal["build_version", "version_min"] | None = "build_version",
    platform: str = "macos",
    kind: Literal["executable", "shared library", "bundle", "object file"] = "executable",
    sdk: Sequence[int] = (14, 0),
) -> bytes:
    """A thin Mach-O file for ``arch`` whose minimum OS is ``minos`` (``(X, Y)`` or ``(X, Y, Z)``).

    ``cmd="build_version"`` records it in ``LC_BUILD_VERSION`` (platform ``platform``),
    ``"version_min"`` in ``LC_VERSION_MIN_MACOSX`` (or the iOS/tvOS/watchOS variant for
    ``platform``), ``None`` records no minimum at all.
    """
    cputype, cpusubtype, wide, e = _MACHO_CPUS[arch]
    # __TEXT maps the file from its first byte, as in real binaries; its size is patched in below.
    if wide:
        text_segment = struct.pack(e + "II16sQQQQiiII", 0x19, 72, b"__TEXT", 0x100000000, 0x4000, 0, 0, 5, 5, 0, 0)
    else:
        text_segment = struct.pack(e + "II16sIIIIiiII", 0x1, 56, b"__TEXT", 0x1000, 0x4000, 0, 0, 5, 5, 0, 0)
    commands = [text_segment, struct.pack(e + "II", _LC_UUID, 24) + bytes(range(16))]
    if cmd == "build_version":
        commands.append(
            struct.pack(
                e + "IIIIII",
                _LC_BUILD_VERSION,
                24,
                _BUILD_PLATFORMS[platform],
                _pack_version(minos),
                _pack_version(sdk),
                0,
            )
        )
    elif cmd == "version_min":
        commands.append(
            struct.pack(e + "IIII", _VERSION_MIN_CMDS[platform], 16, _pack_version(minos), _pack_version(sdk))
        )
    if kind == "executable":
        commands.append(struct.pack(e + "IIQQ", _LC_MAIN, 24, 0x1000, 0))
    body = b"".join(commands)
    magic = 0xFEEDFACF if wide else 0xFEEDFACE
    header = struct.pack(
        e + "IiiIIII", magic, cputype, cpusubtype, _MACHO_FILETYPES[kind], len(commands), len(body), 0x200085
    )
    if wide:
        header += b"\0\0\0\0"
    data = bytearray(header + body + b"\0" * 64)
    struct.pack_into(e + ("Q" if wide else "I"), data, len(header) + (48 if wide else 36), len(data))  # filesize
    return bytes(data)


def make_fat_macho(slices: Sequence[bytes], *, wide: bool = False) -> bytes:
    """A universal (fat) Mach-O file holding ``slices`` (outputs of :func:`make_macho`), each
    aligned to 4096 bytes. ``wide=True`` writes the 64-bit fat header (``0xcafebabf``)."""
    entry_size = 32 if wide else 20
    offset = 4096
    table = bytearray(struct.pack(">II", 0xCAFEBABF if wide else 0xCAFEBABE, len(slices)))
    body = bytearray()
    for data in slices:
        e = "<" if data[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") else ">"
        cputype, cpusubtype = struct.unpack_from(e + "ii", data, 4)
        if wide:
            table += struct.pack(">iiQQII", cputype, cpusubtype, offset, len(data), 12, 0)
        else:
            table += struct.pack(">iiIII", cputype, cpusubtype, offset, len(data), 12)
        padded = data + b"\0" * (-len(data) % 4096)
        body += padded
        offset += len(padded)
    assert len(table) == 8 + entry_size * len(slices) <= 4096
    return bytes(table) + b"\0" * (4096 - len(table)) + bytes(body)


# ---------------------------------------------------------------------------------------------
# PE
# ---------------------------------------------------------------------------------------------

_PE_MACHINES = {"x86_64": 0x8664, "aarch64": 0xAA64, "i386": 0x14C, "arm": 0x1C4}


def make_pe(arch: str = "x86_64", *, kind: Literal["executable", "dll"] = "executable", subsystem: int = 3) -> bytes:
    """A 1 KiB PE file: PE32+ for 64-bit ``arch``, PE32 for ``i386``/``arm``; ``kind="dll"`` sets
    ``IMAGE_FILE_DLL``; ``subsystem`` 3 is a console program (10 is an EFI application)."""
    machine = _PE_MACHINES[arch]
    wide = arch in ("x86_64", "aarch64")
    lfanew = 0x80
    dos = bytearray(lfanew)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, lfanew)
    characteristics = 0x0022 | (0x2000 if kind == "dll" else 0)
    size_of_optional = 240 if wide else 224
    coff = b"PE\0\0" + struct.pack("<HHIIIHH", machine, 1, 0, 0, 0, size_of_optional, characteristics)
    if wide:
        optional = struct.pack(
            "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII",
            0x20B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x140000000, 0x1000, 0x200,
            6, 0, 0, 0, 6, 0, 0, 0x2000, 0x200, 0, subsystem, 0x8160,
            0x100000, 0x1000, 0x100000, 0x1000, 0, 16,
        )  # fmt: skip
    else:
        optional = struct.pack(
            "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
            0x10B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x2000, 0x400000, 0x1000, 0x200,
            6, 0, 0, 0, 6, 0, 0, 0x2000, 0x200, 0, subsystem, 0x8140,
            0x100000, 0x1000, 0x100000, 0x1000, 0, 16,
        )  # fmt: skip
    optional += b"\0" * (16 * 8)
    assert len(optional) == size_of_optional
    section = struct.pack("<8sIIIIIIHHI", b".text", 0x10, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
    headers = bytes(dos) + coff + optional + section
    return headers + b"\0" * (0x200 - len(headers)) + b"\xc3" + b"\0" * 0x1FF


# ---------------------------------------------------------------------------------------------
# Files and whole platform packages
# ---------------------------------------------------------------------------------------------


def write_binary(path: Path, data: bytes, *, mode: int = 0o755) -> Path:
    """Write ``data`` to ``path`` (parents created) with ``mode``; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


_TRIPLES = {  # triple: (os, arch)
    "aarch64-apple-darwin": ("macos", "aarch64"),
    "x86_64-apple-darwin": ("macos", "x86_64"),
    "aarch64-unknown-linux-musl": ("linux", "aarch64"),
    "x86_64-unknown-linux-musl": ("linux", "x86_64"),
    "aarch64-pc-windows-msvc": ("windows", "aarch64"),
    "x86_64-pc-windows-msvc": ("windows", "x86_64"),
}


def _package_binary(os_name: str, arch: str) -> bytes:
    if os_name == "linux":
        return make_elf(arch, static=True, pie=arch == "x86_64")
    if os_name == "macos":
        return (
            make_macho(arch, minos=(11, 0))
            if arch == "aarch64"
            else make_macho(arch, minos=(10, 12), cmd="version_min")
        )
    return make_pe(arch)


def _voice_files(os_name: str, arch: str) -> dict[str, bytes]:
    if os_name == "linux":
        lib = make_elf(arch, kind="shared library", static=False, libc="glibc", glibc_versions=("2.14", "2.28"))
        host = make_elf(arch, static=False, libc="glibc", glibc_versions=("2.17", "2.28"))
        return {"voice/bin/codex-voice-host": host, "voice/lib/libglib-2.0.so.0": lib}
    if os_name == "macos":
        return {
            "voice/bin/codex-voice-host": make_macho(arch, minos=(14, 0)),
            "voice/lib/libglib-2.0.0.dylib": make_macho(arch, minos=(14, 0), kind="shared library"),
        }
    return {"voice/bin/codex-voice-host.exe": make_pe(arch), "voice/bin/glib-2.0-0.dll": make_pe(arch, kind="dll")}


def write_platform_package(root: Path, triple: str, *, version: str = "0.169.0", voice: bool = False) -> Path:
    """Lay out a minimal Codex platform package for ``triple`` under ``root`` and return ``root``.

    It holds ``codex-package.json``, ``bin/codex[.exe]``, ``bin/codex-code-mode-host[.exe]``,
    ``codex-path/rg[.exe]``, a ``codex-resources/README.txt`` (not a binary) and, with ``voice=True``,
    ``codex-resources/voice/`` with a host and a library that need glibc 2.28 / macOS 14.0. Without voice
    the binaries earn exactly the target's ``expected_tags`` (aarch64 Linux: rg is glibc-linked, as in
    the real package).
    """
    os_name, arch = _TRIPLES[triple]
    suffix = ".exe" if os_name == "windows" else ""
    binary = _package_binary(os_name, arch)
    for rel in (f"bin/codex{suffix}", f"bin/codex-code-mode-host{suffix}", f"codex-path/rg{suffix}"):
        write_binary(root / rel, binary)
    if (os_name, arch) == ("linux", "aarch64"):
        # As in the real 0.169.0 linux-arm64 package: rg is a dynamic glibc executable (GLIBC_2.18).
        write_binary(
            root / "codex-path" / "rg", make_elf(arch, static=False, libc="glibc", glibc_versions=("2.17", "2.18"))
        )
    write_binary(root / "codex-resources" / "README.txt", b"not an executable\n", mode=0o644)
    if voice:
        for rel, data in _voice_files(os_name, arch).items():
            write_binary(root / "codex-resources" / rel, data)
    manifest = {
        "layoutVersion": 1,
        "version": version,
        "target": triple,
        "variant": "codex",
        "entrypoint": f"bin/codex{suffix}",
        "resourcesDir": "codex-resources",
        "pathDir": "codex-path",
    }
    (root / "codex-package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return root


def npm_tarball(package: Path, triple: str, out: Path) -> Path:
    """The platform package at ``package`` as npm publishes it: ``package/vendor/<triple>/...``, modes kept."""
    with tarfile.open(out, "w:gz") as tar:
        tar.add(package, arcname=f"package/vendor/{triple}")
    return out
