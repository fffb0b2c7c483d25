"""Hostile-input rows for the archive and wheel reader: ``stage-runtime`` on damaged tarballs, ``verify`` on
damaged wheels and dist folders (see ``tests/hostile.py`` for what every row checks).

Every hostile archive is built here in code (hand-set tar headers, zip entries, gzip trailers); each
family has a control row that still passes.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import os
import shutil
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.checkout import pinned_runtime
from tests.hostile import CaseContext, HostileCase, Outcome, run_case
from tests.synthetic_binaries import write_platform_package
from tests.test_verify_scan import _forge_crc

LINUX = "x86_64-unknown-linux-musl"
PREFIX = f"package/vendor/{LINUX}/"
VERSION = pinned_runtime()


# --- tarballs --------------------------------------------------------------------------------


def _package_members(ctx: CaseContext) -> list[tuple[tarfile.TarInfo, bytes]]:
    package = write_platform_package(ctx.ws / "src-pkg", LINUX, version=VERSION.semver)
    members = []
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        info = tarfile.TarInfo(PREFIX + path.relative_to(package).as_posix())
        data = path.read_bytes()
        info.size, info.mode = len(data), 0o755 if os.access(path, os.X_OK) else 0o644
        members.append((info, data))
    shutil.rmtree(ctx.ws / "src-pkg")
    return members


def _tar_bytes(members: Sequence[tuple[tarfile.TarInfo, bytes]], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def _write_tgz(ctx: CaseContext, raw_tar: bytes, name: str = "pkg.tgz") -> Path:
    path = ctx.ws / name
    path.write_bytes(gzip.compress(raw_tar, compresslevel=1, mtime=0))
    return path


def _stage(ctx: CaseContext, source: Path, *extra: str) -> list[str]:
    (ctx.ws / "out").mkdir(exist_ok=True)  # STAGING_DIR's parent exists, as it would for a user
    staging = str(ctx.ws / "out" / "staging")
    return ["stage-runtime", staging, str(source), "--codex-version", str(VERSION), "-q", *extra]


def tgz_case(
    case_id: str,
    edit: Callable[[CaseContext, list[tuple[tarfile.TarInfo, bytes]]], None] | None,
    message: str | None,
    *,
    env: dict[str, str] | None = None,
    fmt: int = tarfile.PAX_FORMAT,
    check: Callable[[CaseContext, Outcome], None] | None = None,
) -> HostileCase:
    """A package tarball, edited as a list of (header, bytes) before it is written."""

    def build(ctx: CaseContext) -> list[str]:
        members = _package_members(ctx)
        if edit is not None:
            edit(ctx, members)
        ctx.env.update(env or {})
        return _stage(ctx, _write_tgz(ctx, _tar_bytes(members, fmt=fmt)))

    return HostileCase(case_id, build, message, check=check)


def raw_tgz_case(case_id: str, damage: Callable[[bytes, bytes], bytes], message: str) -> HostileCase:
    """A package tarball whose gzip bytes are damaged: ``damage(tar_bytes, gzip_bytes) -> bytes``."""

    def build(ctx: CaseContext) -> list[str]:
        raw = _tar_bytes(_package_members(ctx))
        path = ctx.ws / "pkg.tgz"
        path.write_bytes(damage(raw, gzip.compress(raw, compresslevel=1, mtime=0)))
        return _stage(ctx, path)

    return HostileCase(case_id, build, message)


def _add(name: str, data: bytes = b"x", *, kind: bytes = tarfile.REGTYPE, size: int | None = None, link: str = ""):
    def edit(ctx: CaseContext, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.size = len(data) if size is None else size
        if kind != tarfile.REGTYPE:
            info.size = 0
        info.linkname = link
        members.append((info, data))

    return edit


def _replace(name: str, data: bytes):
    def edit(ctx: CaseContext, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
        for index, (info, _) in enumerate(members):
            if info.name == PREFIX + name:
                info.size = len(data)
                members[index] = (info, data)
                return
        raise AssertionError(name)

    return edit


def _flip_codex_byte(raw: bytes, compressed: bytes) -> bytes:
    """Flip one byte inside ``bin/codex``'s data (tar header intact), keep the original CRC and length."""
    offset = raw.index(b"\x7fELF", raw.index((PREFIX + "bin/codex").encode())) + 100
    damaged = bytearray(raw)
    damaged[offset] ^= 0xFF
    recompressed = gzip.compress(bytes(damaged), compresslevel=1, mtime=0)
    return recompressed[:-8] + compressed[-8:]


def _wrong_length(raw: bytes, compressed: bytes) -> bytes:
    crc, size = struct.unpack("<II", compressed[-8:])
    return compressed[:-8] + struct.pack("<II", crc, size + 512)


def _data_after_tar_end(raw: bytes, compressed: bytes) -> bytes:
    return gzip.compress(raw + b"hidden payload after the end-of-archive blocks", compresslevel=1, mtime=0)


def _zero_member(size: int) -> Callable[[CaseContext, list[tuple[tarfile.TarInfo, bytes]]], None]:
    """A member of ``size`` zero bytes (compresses to almost nothing)."""
    return _add(PREFIX + "codex-resources/zeros", bytes(size))


def _write_huge_declared(ctx: CaseContext) -> list[str]:
    members = _package_members(ctx)
    header = tarfile.TarInfo(PREFIX + "codex-resources/huge")
    header.size = 20 << 30
    raw = header.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 512 + _tar_bytes(members)
    path = ctx.ws / "pkg.tgz"
    path.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    assert path.stat().st_size < 100_000
    return _stage(ctx, path)


def _staged(ctx: CaseContext, outcome: Outcome) -> None:
    assert (ctx.ws / "out" / "staging" / "src" / "codex_cli_bin" / "vendor" / "bin" / "codex").is_file()


def _manifest_non_utf8(ctx: CaseContext, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    _replace("codex-package.json", b'{"version": "\xff\xfe"}')(ctx, members)


_TRAILER_MISMATCH = "CRC-32 or length trailer does not match"

TAR_CASES = [
    tgz_case("tgz control: a synthetic npm tarball stages", None, None, check=_staged),
    tgz_case(
        "tgz control: a size cap override that fits still stages",
        None,
        None,
        env={"CODEX_RELEASE_MAX_UNPACKED": "50M", "CODEX_RELEASE_MAX_MEMBERS": "40"},
        check=_staged,
    ),
    tgz_case("tgz control: GNU-format headers stage", None, None, fmt=tarfile.GNU_FORMAT, check=_staged),
    # issue 8 row 6: bounded expansion
    HostileCase("tgz member declaring 20 GiB with a tiny body", _write_huge_declared, "above the cap"),
    tgz_case(
        "tgz with 300 MB of zeros above an overridden cap",
        _zero_member(300 << 20),
        "CODEX_RELEASE_MAX_UNPACKED",
        env={"CODEX_RELEASE_MAX_UNPACKED": "100M"},
    ),
    tgz_case(
        "tgz with more members than the cap",
        None,
        "more than 3 members",
        env={"CODEX_RELEASE_MAX_MEMBERS": "3"},
    ),
    tgz_case("tgz cap variable that is not a size", None, "is not a size", env={"CODEX_RELEASE_MAX_UNPACKED": "lots"}),
    # issue 8 row 7: gzip CRC / trailer
    raw_tgz_case("tgz with a flipped byte in bin/codex (CRC-32 wrong)", _flip_codex_byte, _TRAILER_MISMATCH),
    raw_tgz_case("tgz with a wrong length trailer", _wrong_length, _TRAILER_MISMATCH),
    raw_tgz_case("tgz with garbage after the gzip stream", lambda r, c: c + b"garbage", "after the end of the gzip"),
    raw_tgz_case("tgz with a second gzip member appended", lambda r, c: c + gzip.compress(b"x"), "after the end of"),
    raw_tgz_case("tgz cut short before its trailer", lambda r, c: c[:-6], "cut short"),
    raw_tgz_case("tgz with data after the tar end marker", _data_after_tar_end, "after the end of the tar archive"),
    raw_tgz_case("a plain tar named .tgz", lambda r, c: r, "not a valid gzip stream"),
    # issue 8 row 12 (names) and the other name rules
    tgz_case(
        "tgz member name not UTF-8", _add(PREFIX + "bin/\udcff\udcfe"), "is not valid UTF-8", fmt=tarfile.GNU_FORMAT
    ),
    tgz_case("tgz manifest not UTF-8", _manifest_non_utf8, "pkg.tgz:" + PREFIX + "codex-package.json: not valid UTF-8"),
    tgz_case(
        "tgz file and directory of one name", _add(PREFIX + "bin/codex/inner"), "both as a file and as a directory"
    ),
    tgz_case("tgz with a 300-character name", _add(PREFIX + "x" * 300), "longer than 255 bytes"),
    tgz_case("tgz with a name over 1024 bytes", _add(PREFIX + "/".join(["d" * 200] * 6)), "bytes long (at most 1024)"),
    tgz_case("tgz names equal but for case", _add(PREFIX + "bin/CODEX"), "differ only in case"),
    tgz_case("tgz with one member twice", _add(PREFIX + "bin/codex", b"\x7fELF other"), "twice"),
    tgz_case("tgz absolute member", _add("/tmp/evil"), "is absolute"),
    tgz_case("tgz member with ..", _add("package/../../evil"), "'..' component"),
    tgz_case("tgz member with a backslash", _add(PREFIX + "bin\\..\\..\\evil"), "backslash"),
    tgz_case("tgz member with a drive letter", _add("C:/evil"), "':'"),
    tgz_case("tgz member with a control character", _add(PREFIX + "bin/a\nb"), "control characters"),
    # member types
    tgz_case("tgz symlink member", _add(PREFIX + "bin/sh", kind=tarfile.SYMTYPE, link="/bin/sh"), "is a symlink"),
    tgz_case("tgz hard link member", _add(PREFIX + "bin/h", kind=tarfile.LNKTYPE, link="/etc/passwd"), "hard link"),
    tgz_case("tgz FIFO member", _add(PREFIX + "bin/fifo", kind=tarfile.FIFOTYPE), "is a FIFO"),
    tgz_case("tgz device member", _add(PREFIX + "dev", kind=tarfile.CHRTYPE), "is a device"),
    # issue 8 row 15: bad-manifest errors name SOURCE, never the scratch path
    tgz_case(
        "tgz manifest not JSON names SOURCE and member",
        _replace("codex-package.json", b"{not json"),
        "pkg.tgz:" + PREFIX + "codex-package.json: not valid JSON",
    ),
    tgz_case("tgz manifest missing fields names SOURCE", _replace("codex-package.json", b"{}"), "pkg.tgz:"),
]


# --- wheels and dist folders -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _copy_dist(ctx: CaseContext) -> Path:
    return Path(shutil.copytree(ctx.fixture("synthetic_dist"), ctx.ws / "dist"))


def _wheel(dist: Path, prefix: str) -> Path:
    (found,) = [p for p in dist.iterdir() if p.name.startswith(prefix) and p.suffix == ".whl"]
    return found


Entry = tuple[zipfile.ZipInfo, bytes]


def _rewrite(wheel: Path, edit: Callable[[list[Entry]], None], *, fix_record: bool = True) -> None:
    """Rewrite ``wheel`` after ``edit`` changed its entries; RECORD is recomputed unless told otherwise."""
    with zipfile.ZipFile(wheel) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    edit(entries)
    if fix_record:
        record_index = next(i for i, (info, _) in enumerate(entries) if info.filename.endswith(".dist-info/RECORD"))
        record_name = entries[record_index][0].filename
        out = io.StringIO()
        rows = csv.writer(out, lineterminator="\n")
        for info, data in entries:
            if info.filename != record_name and not info.filename.endswith("/"):
                rows.writerow((info.filename, f"sha256={_b64(data)}", len(data)))
        rows.writerow((record_name, "", ""))
        entries.append((entries.pop(record_index)[0], out.getvalue().encode()))
    tmp = wheel.with_name(wheel.name + ".tmp")
    with warnings.catch_warnings(), zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        warnings.simplefilter("ignore")  # duplicate names are the point of some rows
        for info, data in entries:
            dst.writestr(info, data)
    tmp.replace(wheel)


def _member(name: str, data: bytes, mode: int = 0o100644) -> Entry:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data


def _verify(ctx: CaseContext, dist: Path) -> list[str]:
    return ["verify", str(dist), "--codex-version", str(VERSION)]


def wheel_case(
    case_id: str,
    prefix: str,
    edit: Callable[[CaseContext, list[Entry]], None],
    fault: str,
    *,
    fix_record: bool = True,
    check: Callable[[CaseContext, Outcome], None] | None = None,
) -> HostileCase:
    """``verify`` on the synthetic release with one wheel (``prefix``: runtime or SDK) edited.

    verify prints its table on stdout and one line ``Error: N fault(s) in DIST`` on stderr: the row
    checks that line, that the table names ``fault``, and that N is not 0.
    """

    def build(ctx: CaseContext) -> list[str]:
        dist = _copy_dist(ctx)
        _rewrite(_wheel(dist, prefix), lambda entries: edit(ctx, entries), fix_record=fix_record)
        return _verify(ctx, dist)

    def checks(ctx: CaseContext, outcome: Outcome) -> None:
        assert fault in outcome.stdout, outcome.stdout
        assert "Error: 0 fault" not in outcome.stderr
        assert "verify: FAILED" in outcome.stdout
        if check is not None:
            check(ctx, outcome)

    return HostileCase(case_id, build, "fault(s) in", check=checks)


RUNTIME = f"openai_codex_cli_bin-{VERSION}-py3-none-musllinux_1_1_x86_64"
SDK = f"openai_codex-{VERSION}-"
MAC_ARM = f"openai_codex_cli_bin-{VERSION}-py3-none-macosx_11"
ELF_HEAD = b"\x7fELF\x02\x01\x01" + bytes(64)


def _append(*entries: Entry) -> Callable[[CaseContext, list[Entry]], None]:
    return lambda ctx, current: current.extend(entries)


def _absolute_elf(ctx: CaseContext, entries: list[Entry]) -> None:
    entries.append(_member(str(ctx.ws / "overwritten-by-verify"), ELF_HEAD, 0o100755))


def _not_written(ctx: CaseContext, outcome: Outcome) -> None:
    assert not (ctx.ws / "overwritten-by-verify").exists()


def _pin(requirement: str) -> Callable[[CaseContext, list[Entry]], None]:
    def edit(ctx: CaseContext, entries: list[Entry]) -> None:
        for index, (info, data) in enumerate(entries):
            if info.filename.endswith(".dist-info/METADATA"):
                text = data.decode()
                lines = [
                    f"Requires-Dist: {requirement}" if line.startswith("Requires-Dist: openai-codex-cli-bin") else line
                    for line in text.split("\n")
                ]
                entries[index] = (info, "\n".join(lines).encode())

    return edit


def _drop_record_row(ctx: CaseContext, entries: list[Entry]) -> None:
    for index, (info, data) in enumerate(entries):
        if info.filename.endswith(".dist-info/RECORD"):
            rows = [line for line in data.decode().splitlines() if "/bin/codex," not in line]
            entries[index] = (info, ("\n".join(rows) + "\n").encode())


def _ghost_record_row(ctx: CaseContext, entries: list[Entry]) -> None:
    for index, (info, data) in enumerate(entries):
        if info.filename.endswith(".dist-info/RECORD"):
            entries[index] = (info, data + b"codex_cli_bin/ghost,sha256=AAAA,1\n")


def _bad_hash(ctx: CaseContext, entries: list[Entry]) -> None:
    for index, (info, data) in enumerate(entries):
        if info.filename.endswith("/bin/codex"):
            entries[index] = (info, data + b"appended after RECORD was written")


def _dist_with_fifo(ctx: CaseContext) -> list[str]:
    dist = _copy_dist(ctx)
    os.mkfifo(dist / f"openai_codex_cli_bin-{VERSION}-py3-none-win_arm64.whl.fifo.whl")
    return _verify(ctx, dist)


def _fifo_seen(ctx: CaseContext, outcome: Outcome) -> None:
    assert "is a FIFO, not a regular file" in outcome.stdout


def _dist_control(ctx: CaseContext) -> list[str]:
    return _verify(ctx, _copy_dist(ctx))


def _rewritten_control(ctx: CaseContext) -> list[str]:
    dist = _copy_dist(ctx)
    _rewrite(_wheel(dist, RUNTIME), lambda entries: None)
    _rewrite(_wheel(dist, SDK), lambda entries: None)
    return _verify(ctx, dist)


def _fat64_without_exec(ctx: CaseContext, entries: list[Entry]) -> None:
    entries.append(
        _member("codex_cli_bin/vendor/codex-resources/fat64", b"\xca\xfe\xba\xbf\x00\x00\x00\x01" + bytes(64))
    )


ARM_FULL = f"openai_codex_cli_bin-{VERSION}-py3-none-manylinux_2_18_aarch64"
ARM_LEAN = f"openai_codex_cli_bin-{VERSION}-py3-none-musllinux_1_1_aarch64"
CODEX = "codex_cli_bin/vendor/bin/codex"


def _stored_codex(*, forged: bool) -> Callable[[list[Entry]], None]:
    """``codex`` stored, so that equal bytes are equal compressed bytes and a copy of the same length has
    the same sizes; ``forged``: other bytes in the middle, the last four set so the CRC-32 stays the same."""

    def edit(entries: list[Entry]) -> None:
        for index, (info, data) in enumerate(entries):
            if info.filename == CODEX:
                info.compress_type = zipfile.ZIP_STORED
                content = _forge_crc(data[:64] + b"evil" + data[68:], zipfile.crc32(data)) if forged else data
                entries[index] = (info, content)

    return edit


def _shared_codex(*, forged: bool) -> Callable[[CaseContext], list[str]]:
    """The aarch64 full and lean wheels with their shared ``codex`` stored (verify inflates such members
    once and compares the other copies' compressed bytes); ``forged``: the lean wheel's copy has the same
    CRC-32 and sizes as the full wheel's but other bytes, and its RECORD is left as it was (the full
    wheel's row for ``codex``)."""

    def build(ctx: CaseContext) -> list[str]:
        dist = _copy_dist(ctx)
        _rewrite(_wheel(dist, ARM_FULL), _stored_codex(forged=False), fix_record=False)
        _rewrite(_wheel(dist, ARM_LEAN), _stored_codex(forged=forged), fix_record=False)
        return _verify(ctx, dist)

    return build


def _lean_fails_alone(ctx: CaseContext, outcome: Outcome) -> None:
    (full,) = [line for line in outcome.stdout.splitlines() if line.startswith(ARM_FULL)]
    (lean,) = [line for line in outcome.stdout.splitlines() if line.startswith(ARM_LEAN)]
    assert full.rstrip().endswith("  ok"), outcome.stdout
    assert f"FAIL: RECORD hash/size mismatch for {CODEX}" in lean, outcome.stdout


WHEEL_CASES = [
    HostileCase("verify control: the synthetic release verifies", _dist_control, None),
    HostileCase("verify control: wheels rewritten by this test's zip writer verify", _rewritten_control, None),
    # issue 8 row 2: an absolute / traversal member with a binary magic, listed in RECORD
    wheel_case("runtime wheel absolute ELF member", RUNTIME, _absolute_elf, "is absolute", check=_not_written),
    wheel_case("sdk wheel absolute ELF member", SDK, _absolute_elf, "is absolute", check=_not_written),
    wheel_case("runtime wheel ../.. ELF member", RUNTIME, _append(_member("../../x", ELF_HEAD)), "'..' component"),
    # issue 8 row 3
    wheel_case("runtime wheel root-level evil.pth", RUNTIME, _append(_member("evil.pth", b"import os")), ".pth file"),
    wheel_case("sdk wheel root-level evil.pth", SDK, _append(_member("evil.pth", b"import os")), ".pth file"),
    wheel_case(
        "runtime wheel symlink member",
        RUNTIME,
        _append(_member("codex_cli_bin/link", b"/etc/passwd", 0o120777)),
        "is a symlink",
    ),
    wheel_case(
        "sdk pin with a marker", SDK, _pin(f'openai-codex-cli-bin=={VERSION}; python_version < "3"'), "no marker"
    ),
    wheel_case("sdk pin with an extra", SDK, _pin(f"openai-codex-cli-bin[x]=={VERSION}"), "no marker or extra"),
    wheel_case("sdk pin as a range", SDK, _pin(f"openai-codex-cli-bin>={VERSION}"), "must require exactly"),
    # the rest of the allow-list
    wheel_case(
        "runtime wheel .data scripts",
        RUNTIME,
        _append(_member(f"openai_codex_cli_bin-{VERSION}.data/scripts/evil", b"#!/bin/sh\n", 0o100755)),
        ".data/ directory",
    ),
    wheel_case(
        "sdk wheel another top-level", SDK, _append(_member("evil/__init__.py", b"")), "lies outside openai_codex/"
    ),
    wheel_case(
        "runtime wheel another top-level",
        RUNTIME,
        _append(_member("openai_codex/x.py", b"")),
        "lies outside codex_cli_bin/",
    ),
    wheel_case("runtime wheel duplicate member", RUNTIME, _append(_member("codex_cli_bin/__init__.py", b"")), "twice"),
    wheel_case(
        "runtime wheel names equal but for case",
        RUNTIME,
        _append(_member("codex_cli_bin/__INIT__.py", b"")),
        "differ only in case",
    ),
    wheel_case("runtime wheel 300-character name", RUNTIME, _append(_member("codex_cli_bin/" + "x" * 300, b"")), "255"),
    wheel_case("runtime wheel backslash name", RUNTIME, _append(_member("codex_cli_bin\\..\\x", b"")), "backslash"),
    # RECORD
    wheel_case(
        "runtime wheel file missing from RECORD", RUNTIME, _drop_record_row, "no sha256 RECORD entry", fix_record=False
    ),
    wheel_case(
        "runtime wheel RECORD row without a file", RUNTIME, _ghost_record_row, "not in the wheel", fix_record=False
    ),
    wheel_case("runtime wheel wrong hash", RUNTIME, _bad_hash, "RECORD hash/size mismatch", fix_record=False),
    # a member shared by two wheels (inflated once): a copy forged to the same CRC-32 and sizes is read alone
    HostileCase("verify control: full and lean wheels sharing a stored codex", _shared_codex(forged=False), None),
    HostileCase(
        "lean wheel's shared codex forged (same CRC-32 and sizes, RECORD copied)",
        _shared_codex(forged=True),
        "fault(s) in",
        check=_lean_fails_alone,
    ),
    # the one magic table: a fat 64-bit Mach-O is a binary (exec bits checked)
    wheel_case(
        "runtime wheel fat64 Mach-O without exec bits",
        f"openai_codex_cli_bin-{VERSION}-py3-none-macosx_11",
        _fat64_without_exec,
        "without exec bits",
    ),
    # issue 8 row 9: a FIFO named like a wheel is reported, never opened (the run would hang)
    HostileCase("verify with a FIFO named like a wheel", _dist_with_fifo, "fault(s) in", timeout=60, check=_fifo_seen),
]

# --- issue 14 item 3: verify takes the pinned release only, and the SDK's versions must all be it ---------

_MAJOR, _MINOR = VERSION.version.release[:2]
OTHER = f"{_MAJOR}.{_MINOR + 1}.0"
GENERATED_INIT = "openai_codex/generated/__init__.py"


def _generated_from(version: str) -> Callable[[CaseContext, list[Entry]], None]:
    """The SDK wheel's generated types claim to come from ``version``'s runtime (RECORD kept true)."""

    def edit(ctx: CaseContext, entries: list[Entry]) -> None:
        for index, (info, data) in enumerate(entries):
            if info.filename == GENERATED_INIT:
                text = data.decode().replace(f'CODEX_VERSION = "{VERSION}"', f'CODEX_VERSION = "{version}"')
                assert text != data.decode()
                entries[index] = (info, text.encode())

    return edit


def _sdist_generated_from(version: str) -> Callable[[CaseContext], list[str]]:
    """The synthetic release with the SDK sdist's generated types from ``version``'s runtime."""

    def build(ctx: CaseContext) -> list[str]:
        dist = _copy_dist(ctx)
        sdist = dist / f"openai_codex-{VERSION}.tar.gz"
        with tarfile.open(sdist) as src:
            members = [(info, src.extractfile(info).read() if info.isfile() else b"") for info in src]  # type: ignore[union-attr]
        with tarfile.open(sdist, "w:gz", format=tarfile.PAX_FORMAT) as dst:
            old, new = f'CODEX_VERSION = "{VERSION}"'.encode(), f'CODEX_VERSION = "{version}"'.encode()
            for info, data in members:
                content = data.replace(old, new) if info.name.endswith(f"/src/{GENERATED_INIT}") else data
                info.size = len(content)
                dst.addfile(info, io.BytesIO(content) if info.isfile() else None)
        return _verify(ctx, dist)

    return build


def _not_pinned(ctx: CaseContext, outcome: Outcome) -> None:
    assert outcome.stdout == "", outcome.stdout  # refused before DIST is read: no table


PIN_CASES = [
    HostileCase(
        "verify control: no --codex-version verifies the pinned release",
        lambda ctx: ["verify", str(_copy_dist(ctx))],
        None,
    ),
    HostileCase(
        "verify: a --codex-version other than the pin",
        lambda ctx: ["verify", str(_copy_dist(ctx)), "--codex-version", f"rust-v{OTHER}", "--write-checksums"],
        f"--codex-version {OTHER} is not the pinned runtime {VERSION} (sdk/pyproject.toml): "
        f"run 'codex-release bump --codex-version {OTHER}' to move the pin, or release {VERSION}",
        check=_not_pinned,
    ),
    wheel_case(
        "sdk wheel types generated from another runtime",
        SDK,
        _generated_from(OTHER),
        f"{GENERATED_INIT} says CODEX_VERSION {OTHER}, not {VERSION}: the types come from another runtime",
    ),
    HostileCase(
        "sdk sdist types generated from another runtime",
        _sdist_generated_from(OTHER),
        "fault(s) in",
        check=lambda ctx, outcome: _assert_in(f"{GENERATED_INIT} says CODEX_VERSION {OTHER}, not {VERSION}", outcome),
    ),
    wheel_case("sdk pin on another runtime", SDK, _pin(f"openai-codex-cli-bin=={OTHER}"), "must require exactly"),
]


BOMB = "openai_codex/bomb.txt"


def declare_size(wheel: Path, name: str, size: int) -> None:
    """Set ``name``'s declared uncompressed size to ``size`` in its local header and central directory
    entry, in place (data, CRC-32 and everything else untouched)."""
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo(name)
        central = zf.start_dir  # type: ignore[attr-defined]
    with open(wheel, "r+b") as fh:
        fh.seek(info.header_offset + 22)
        fh.write(struct.pack("<I", size))
        fh.seek(central)
        while True:
            header = fh.read(46)
            assert header[:4] == b"PK\x01\x02", "central directory entry expected"
            name_len, extra_len, comment_len = struct.unpack("<HHH", header[28:34])
            entry_name = fh.read(name_len).decode()
            if entry_name == name:
                fh.seek(-(name_len + 46) + 24, os.SEEK_CUR)
                fh.write(struct.pack("<I", size))
                return
            fh.seek(extra_len + comment_len, os.SEEK_CUR)


def _deflate_bomb(ctx: CaseContext) -> list[str]:
    """An SDK wheel member declaring 10 bytes whose DEFLATE data inflates to 64 MiB (64 KiB compressed)."""
    dist = _copy_dist(ctx)
    wheel = _wheel(dist, SDK)
    _rewrite(wheel, lambda entries: entries.append(_member(BOMB, bytes(64 << 20))))
    declare_size(wheel, BOMB, 10)
    return _verify(ctx, dist)


def _assert_in(fault: str, outcome: Outcome) -> None:
    assert fault in outcome.stdout, outcome.stdout
    assert "verify: FAILED" in outcome.stdout


def _second_sdk_wheel(ctx: CaseContext) -> list[str]:
    """A runtime wheel's bytes under an SDK wheel's name with another tag: it would never be scanned."""
    dist = _copy_dist(ctx)
    shutil.copy2(_wheel(dist, RUNTIME), dist / f"openai_codex-{VERSION}-py2-none-any.whl")
    return _verify(ctx, dist)


BOUND_CASES = [
    HostileCase(
        "verify with a second SDK wheel (another tag, a runtime wheel's bytes)",
        _second_sdk_wheel,
        "fault(s) in",
        check=lambda ctx, outcome: (
            _assert_in(f"openai_codex-{VERSION}-py", outcome) or _assert_in("a second SDK wheel beside", outcome)
        ),
    ),
    HostileCase(
        "verify with a member that inflates far past its declared size (a DEFLATE bomb)",
        _deflate_bomb,
        "fault(s) in",
        check=lambda ctx, outcome: _assert_in(f"{BOMB}: CRC-32 or size mismatch", outcome),
    ),
]


CASES = TAR_CASES + WHEEL_CASES + PIN_CASES + BOUND_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_archives(case: HostileCase, tmp_path: Path, synthetic_dist: Path) -> None:
    run_case(case, tmp_path, {"synthetic_dist": lambda: synthetic_dist})
