"""The fast runtime wheel writer: equal to hatchling's wheel, reproducible, verifiable, atomic."""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import io
import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import tomlkit

from codex_release.core.sbom import check_sbom
from codex_release.core.targets import get_target
from codex_release.core.versions import parse_codex_version
from codex_release.errors import DestinationRefused, InputRefused, ReleaseError, Unsupported
from codex_release.steps.stage_runtime import write_sbom
from codex_release.wheels import parallel_deflate
from codex_release.wheels.parallel_deflate import HEAD_PIECE_SIZE, MIN_SPLIT_SIZE, plan_pieces
from codex_release.wheels.wheel_writer import write_wheel
from codex_release.wheels.zip_writer import ZipWriter
from tests.checkout import CHECKOUT

REPO = Path(__file__).resolve().parent.parent
TAG = "musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64"
VERSION = "0.169.0"
WHEEL_NAME = f"openai_codex_cli_bin-{VERSION}-py3-none-{TAG}.whl"
DIST_INFO = f"openai_codex_cli_bin-{VERSION}.dist-info"
VENDOR = Path("src/codex_cli_bin/vendor")


def _bytes(seed: int, size: int, *, compressible: bool) -> bytes:
    rng = random.Random(seed)
    if compressible:
        words = [rng.randbytes(rng.randint(2, 12)) for _ in range(64)]
        out = bytearray()
        while len(out) < size:
            out += rng.choice(words)
        return bytes(out[:size])
    return rng.randbytes(size)


# vendor-relative path -> (contents, mode on disk)
def default_vendor() -> dict[str, tuple[bytes, int]]:
    manifest = {
        "layoutVersion": 1,
        "version": VERSION,
        "target": "x86_64-unknown-linux-musl",
        "variant": "codex",
        "entrypoint": "bin/codex",
        "resourcesDir": "codex-resources",
        "pathDir": "codex-path",
    }
    return {
        "codex-package.json": (json.dumps(manifest, indent=2).encode(), 0o644),
        "bin/codex": (b"\x7fELF" + _bytes(1, 300_000, compressible=True), 0o755),
        "bin/codex-code-mode-host": (b"\x7fELF" + _bytes(2, 80_000, compressible=False), 0o700),
        "codex-path/rg": (_bytes(3, 50_000, compressible=True), 0o775),
        "codex-resources/bwrap": (_bytes(4, 20_000, compressible=True), 0o750),
        "codex-resources/notes.txt": (b"plain data\n" * 100, 0o600),
        "codex-resources/group-exec-only": (b"#!/bin/sh\n", 0o654),
        "codex-resources/empty": (b"", 0o644),
        "codex-resources/caf\u00e9.txt": (b"non-ASCII name\n", 0o644),
    }


def make_staging(
    root: Path,
    *,
    vendor: dict[str, tuple[bytes, int]] | None = None,
    tag: str | None = TAG,
    license_text: str | None = None,
) -> Path:
    """A staging dir as stage-runtime makes it: the runtime/ template, version and tag set, a payload."""
    shutil.copytree(REPO / "runtime", root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "vendor"))
    pyproject = root / "pyproject.toml"
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    document["project"]["version"] = VERSION
    hook = document["tool"]["hatch"]["build"]["hooks"]["custom"]
    if tag is None:
        del hook["platform-tag"]
    else:
        hook["platform-tag"] = tag
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")
    for relative, (data, mode) in (default_vendor() if vendor is None else vendor).items():
        path = root / VENDOR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    if license_text is not None:
        (root / "LICENSE").write_text(license_text, encoding="utf-8")
    # the template's sbom-files names it: stage-runtime writes it, so does this stand-in
    write_sbom(root, parse_codex_version(VERSION), get_target("x86_64-unknown-linux-musl"), "ab" * 64)
    return root


def hatchling_wheel(staging: Path, out: Path, *, source_date_epoch: int | None = None) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    if source_date_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(staging)]
    subprocess.run(command, check=True, capture_output=True, env=env)
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(autouse=True)
def _no_ambient_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_staging(tmp_path_factory.mktemp("stage") / "staging", license_text="Apache License 2.0\n")


def record_rows(archive: zipfile.ZipFile) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read(f"{DIST_INFO}/RECORD").decode("utf-8"))))


def wheel_fields(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    message = email.parser.Parser().parsestr(archive.read(f"{DIST_INFO}/WHEEL").decode("utf-8"))
    return [(key, value) for key, value in message.items() if key != "Generator"]


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


# --- equal to hatchling's wheel ------------------------------------------------------------------------


@pytest.mark.parametrize("epoch", [None, 0])
def test_matches_the_hatchling_wheel_of_the_same_staging_dir(staging: Path, tmp_path: Path, epoch: int | None) -> None:
    reference = hatchling_wheel(staging, tmp_path / "hatchling", source_date_epoch=epoch)
    ours = write_wheel(staging, tmp_path / "ours", source_date_epoch=epoch)
    assert ours.name == reference.name == WHEEL_NAME
    with zipfile.ZipFile(reference) as theirs, zipfile.ZipFile(ours) as mine:
        assert mine.testzip() is None
        expected, got = theirs.infolist(), mine.infolist()
        # same members, same order, same modes, same timestamps, same UTF-8 flag
        assert [i.filename for i in got] == [i.filename for i in expected]
        assert [i.external_attr >> 16 for i in got] == [i.external_attr >> 16 for i in expected]
        assert [i.date_time for i in got] == [i.date_time for i in expected]
        assert got[0].date_time == ((2020, 2, 2, 0, 0, 0) if epoch is None else (1980, 1, 1, 0, 0, 0))  # clamped
        assert [i.flag_bits & 0x800 for i in got] == [i.flag_bits & 0x800 for i in expected]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in got)
        for info in expected:
            if not info.filename.endswith(("/WHEEL", "/RECORD")):
                assert mine.read(info.filename) == theirs.read(info.filename), info.filename
        # WHEEL: identical but for the Generator line (hatchling's vs codex-release's)
        assert wheel_fields(mine) == wheel_fields(theirs)
        assert ("Root-Is-Purelib", "false") in wheel_fields(mine)
        assert [v for k, v in wheel_fields(mine) if k == "Tag"] == [
            "py3-none-manylinux2014_x86_64",
            "py3-none-manylinux_2_17_x86_64",
            "py3-none-musllinux_1_1_x86_64",
        ]
        assert mine.read(f"{DIST_INFO}/WHEEL").decode().splitlines()[1].startswith("Generator: codex-release ")
        # RECORD: identical rows but for WHEEL's own hash and size
        assert [r for r in record_rows(mine) if not r[0].endswith("/WHEEL")] == [
            r for r in record_rows(theirs) if not r[0].endswith("/WHEEL")
        ]
        # the license file went where hatchling puts it, and METADATA names it
        assert f"{DIST_INFO}/licenses/LICENSE" in mine.namelist()
        assert "License-File: LICENSE" in mine.read(f"{DIST_INFO}/METADATA").decode()
        # the SBOM (PEP 770) went where hatchling puts it, as a file with a file's mode, and lists the payload
        sbom = f"{DIST_INFO}/sboms/codex-runtime.cdx.json"
        assert mine.getinfo(sbom).external_attr >> 16 == theirs.getinfo(sbom).external_attr >> 16 == 0o100644
        payload = {
            i.filename: hashlib.sha256(mine.read(i.filename)).hexdigest()
            for i in got
            if not i.filename.startswith(f"{DIST_INFO}/")
        }
        assert check_sbom(mine.read(sbom), VERSION, payload) == []
    # members under 64 KiB are compressed with zlib 6, as hatchling does: the very same bytes
    for info in expected:
        if info.file_size < parallel_deflate.SMALL_FILE_SIZE and not info.filename.endswith(("/WHEEL", "/RECORD")):
            assert got[[i.filename for i in got].index(info.filename)].compress_size == info.compress_size


# --- reproducible --------------------------------------------------------------------------------------


def test_two_runs_give_identical_bytes_and_the_epoch_changes_them(staging: Path, tmp_path: Path) -> None:
    first = write_wheel(staging, tmp_path / "a").read_bytes()
    second = write_wheel(staging, tmp_path / "b").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "a" / WHEEL_NAME) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2020, 2, 2, 0, 0, 0)}

    later = write_wheel(staging, tmp_path / "c", source_date_epoch=1_700_000_000).read_bytes()
    assert later != first
    with zipfile.ZipFile(io.BytesIO(later)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_source_date_epoch_comes_from_the_environment_unless_given(
    staging: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    from_env = write_wheel(staging, tmp_path / "env").read_bytes()
    explicit = write_wheel(staging, tmp_path / "arg", source_date_epoch=1_700_000_000).read_bytes()
    assert from_env == explicit
    overridden = write_wheel(staging, tmp_path / "over", source_date_epoch=1_580_601_600).read_bytes()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert overridden == write_wheel(staging, tmp_path / "default").read_bytes()


@pytest.mark.parametrize(("value", "message"), [("yesterday", "not a number"), ("4354819200", "after 2107")])
def test_a_bad_source_date_epoch_is_refused(
    staging: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(InputRefused, match=message):
        write_wheel(staging, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_bytes_do_not_depend_on_workers_location_mtimes_or_umask(staging: Path, tmp_path: Path) -> None:
    reference = write_wheel(staging, tmp_path / "ref", workers=2).read_bytes()
    assert write_wheel(staging, tmp_path / "one", workers=1).read_bytes() == reference
    assert write_wheel(staging, tmp_path / "three", workers=3).read_bytes() == reference

    moved = tmp_path / "elsewhere" / "other-name"
    shutil.copytree(staging, moved)
    for number, path in enumerate(sorted(moved.rglob("*"))):
        if path.is_file():
            os.utime(path, (1_000_000 + number, 2_000_000_000 - number))
            mode = path.stat().st_mode
            # same exec bit for the owner, different everything else
            path.chmod((0o744 if mode & stat.S_IXUSR else 0o640) | (stat.S_IXGRP if number % 2 else 0))
    assert write_wheel(moved, tmp_path / "moved").read_bytes() == reference


# --- what is inside ------------------------------------------------------------------------------------


def test_record_lists_every_member_with_its_sha256_and_size(staging: Path, tmp_path: Path) -> None:
    wheel = write_wheel(staging, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        rows = record_rows(archive)
        names = archive.namelist()
        assert [row[0] for row in rows] == names  # every member once, in archive order
        assert names[-1] == f"{DIST_INFO}/RECORD"
        assert rows[-1] == [f"{DIST_INFO}/RECORD", "", ""]
        assert all(name.startswith(f"{DIST_INFO}/") for name in names[-4:])  # dist-info last
        for name, digest, size in rows[:-1]:
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}"
            assert int(size) == len(data)
        payload = {row[0]: archive.read(row[0]) for row in rows if row[0].startswith("codex_cli_bin/vendor/")}
    assert payload == {f"codex_cli_bin/vendor/{k}": v for k, (v, _) in default_vendor().items()}


def test_exec_bits_are_kept_and_modes_normalised(staging: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(write_wheel(staging, tmp_path)) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    vendor = "codex_cli_bin/vendor/"
    for relative in ("bin/codex", "bin/codex-code-mode-host", "codex-path/rg", "codex-resources/bwrap"):
        assert modes[vendor + relative] == 0o100755, relative
    for relative in ("codex-package.json", "codex-resources/notes.txt", "codex-resources/group-exec-only"):
        assert modes[vendor + relative] == 0o100644, relative
    assert modes["codex_cli_bin/__init__.py"] == 0o100644
    assert modes[f"{DIST_INFO}/METADATA"] == 0o644  # hatchling writes dist-info with bare permission bits


def test_installs_with_working_exec_bits_through_pip_s_unpacker(staging: Path, tmp_path: Path) -> None:
    """What pip does on install: unpack with zipfile and honour the owner-exec bit."""
    wheel = write_wheel(staging, tmp_path / "dist")
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            path = target / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(info))
            if info.external_attr >> 16 & stat.S_IXUSR:
                path.chmod(0o755)
    assert os.access(target / "codex_cli_bin/vendor/bin/codex", os.X_OK)
    assert not os.access(target / "codex_cli_bin/vendor/codex-package.json", os.X_OK)


# --- the split of a large member and ZIP64 --------------------------------------------------------------


def test_plan_cuts_only_the_split_size_file_and_covers_it_exactly() -> None:
    Piece = parallel_deflate.Piece
    sizes = [294_277_432, 70_023_704, 5_408_904, 507_960, 205]
    plans = plan_pieces(sizes)
    # the others: libdeflate 6 for real files, zlib 6 (hatchling's bytes) for small ones
    assert plans[1:] == [
        [Piece(0, 70_023_704, "libdeflate", 6)],
        [Piece(0, 5_408_904, "libdeflate", 6)],
        [Piece(0, 507_960, "libdeflate", 6)],
        [Piece(0, 205, "zlib", 6)],
    ]
    head, tail = plans[0][:-1], plans[0][-1]
    assert head
    assert {(p.codec, p.level, p.final) for p in head} == {("zlib-sync", 6, False)}
    assert (tail.codec, tail.level, tail.final, tail.end) == ("libdeflate", 5, True, sizes[0])
    assert [p.start for p in plans[0]] == [0] + [p.end for p in plans[0][:-1]]  # contiguous, no gap or overlap
    assert max(p.end - p.start for p in head) <= HEAD_PIECE_SIZE
    # balanced for two workers, with the rest of a wheel at its usual share: the tail is half of all work
    rest = parallel_deflate.OTHER_SHARE * parallel_deflate.OTHER_COST * sizes[0]
    total = sum(p.cost for p in plans[0]) + rest
    assert abs(tail.cost - total / 2) < 0.01 * total
    # and the real rest of this wheel (linux-x64) is within a few percent of that assumption
    actual = sum(p.cost for plan in plans[1:] for p in plan)
    assert abs(actual - rest) < 0.1 * rest
    # a file's plan depends on its own size only, so it can be made before the rest of the wheel is known
    assert plan_pieces([sizes[0]]) == plans[:1]
    assert plans[0] == parallel_deflate.plan_file(sizes[0])
    # below the split size a file is one libdeflate 6 piece, however large it is next to the others
    assert plan_pieces([MIN_SPLIT_SIZE - 1, 100_000]) == [
        [Piece(0, MIN_SPLIT_SIZE - 1, "libdeflate", 6)],
        [Piece(0, 100_000, "libdeflate", 6)],
    ]
    assert plan_pieces([10**9]) != plan_pieces([10**9], workers=1)  # the cut is a function of the plan workers
    assert plan_pieces([]) == []


def test_a_split_member_is_one_valid_deflate_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel_deflate, "MIN_SPLIT_SIZE", 256 * 1024)
    monkeypatch.setattr(parallel_deflate, "HEAD_PIECE_SIZE", 64 * 1024)
    vendor = default_vendor()
    big = _bytes(7, 600_000, compressible=True) + _bytes(8, 200_000, compressible=False)
    vendor["bin/codex"] = (big, 0o755)
    staging = make_staging(tmp_path / "staging", vendor=vendor)
    plans = parallel_deflate.plan_pieces([len(big), 80_000])
    assert len(plans[0]) > 2  # a zlib head of several pieces, then the libdeflate tail
    wheel = write_wheel(staging, tmp_path / "out")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.testzip() is None
        assert archive.read("codex_cli_bin/vendor/bin/codex") == big
        info = archive.getinfo("codex_cli_bin/vendor/bin/codex")
    assert info.compress_size < 0.8 * len(big)  # priming each piece with the previous window keeps the ratio


def test_zip64_records_are_written_and_read_back(staging: Path, tmp_path: Path) -> None:
    normal = write_wheel(staging, tmp_path / "normal")
    wheel = write_wheel(staging, tmp_path / "zip64", zip64_limit=10_000)
    data = wheel.read_bytes()
    assert b"PK\x06\x06" in data  # ZIP64 end record
    assert b"PK\x06\x07" in data  # and its locator
    with zipfile.ZipFile(wheel) as archive, zipfile.ZipFile(normal) as reference:
        assert archive.testzip() is None
        assert archive.namelist() == reference.namelist()
        for info in archive.infolist():
            assert archive.read(info) == reference.read(info.filename)
            if info.file_size >= 10_000 or info.header_offset >= 10_000:
                assert info.extract_version == 45
                assert struct.unpack_from("<H", info.extra)[0] == 0x0001
        infos = archive.infolist()
        assert any(info.file_size >= 10_000 for info in infos)
        assert any(info.header_offset >= 10_000 for info in infos)


def test_zip64_entry_count(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    count = 0x10000 + 5
    empty = b"\x03\x00"  # an empty final fixed-Huffman DEFLATE block
    with path.open("wb") as out:
        writer = ZipWriter(out, date_time=(2020, 2, 2, 0, 0, 0))
        for number in range(count):
            writer.add_deflated(f"f{number:06d}", mode=0o100644, crc32=0, size=0, chunks=[empty])
        writer.finish()
    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == count
        assert archive.read("f065540") == b""


def test_zip_writer_refuses_duplicates_and_bad_names(tmp_path: Path) -> None:
    with (tmp_path / "x.zip").open("wb") as out:
        writer = ZipWriter(out, date_time=(2020, 2, 2, 0, 0, 0))
        writer.add_deflated("a", mode=0o644, crc32=0, size=0, chunks=[b"\x03\x00"])
        with pytest.raises(ValueError, match="duplicate"):
            writer.add_deflated("a", mode=0o644, crc32=0, size=0, chunks=[b"\x03\x00"])
        for bad in ("/abs", "back\\slash", ""):
            with pytest.raises(ValueError, match="relative POSIX"):
                writer.add_deflated(bad, mode=0o644, crc32=0, size=0, chunks=[b"\x03\x00"])


# --- atomic ----------------------------------------------------------------------------------------------


def _failing_after(calls: int, error: BaseException) -> Callable[..., None]:
    original = ZipWriter.add_deflated
    seen = {"n": 0}

    def add_deflated(self: ZipWriter, *args: object, **kwargs: object) -> None:
        seen["n"] += 1
        if seen["n"] > calls:
            raise error
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    return add_deflated


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_a_failure_midway_leaves_nothing_and_keeps_the_previous_wheel(
    staging: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    (out / WHEEL_NAME).write_bytes(b"previous wheel")
    monkeypatch.setattr(ZipWriter, "add_deflated", _failing_after(3, error))
    expected: type[BaseException] = KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else DestinationRefused
    with pytest.raises(expected):
        write_wheel(staging, out)
    assert files_in(out) == [WHEEL_NAME]
    assert (out / WHEEL_NAME).read_bytes() == b"previous wheel"


def test_a_payload_file_that_changes_while_writing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staging = make_staging(tmp_path / "staging")
    original = parallel_deflate._digests

    def shrinking(path: Path, size: int) -> tuple[int, bytes]:
        if path.name == "rg":
            path.write_bytes(b"truncated")
        return original(path, size)

    monkeypatch.setattr(parallel_deflate, "_digests", shrinking)
    with pytest.raises(DestinationRefused, match="changed while the wheel was being written"):
        write_wheel(staging, tmp_path / "out", workers=1)
    assert files_in(tmp_path / "out") == []


# --- bad input ---------------------------------------------------------------------------------------------


def _no_pyproject(root: Path) -> None:
    (root / "pyproject.toml").unlink()


def _broken_pyproject(root: Path) -> None:
    (root / "pyproject.toml").write_text("[project\nname = ", encoding="utf-8")


def _bad_tag(root: Path) -> None:
    path = root / "pyproject.toml"
    path.write_text(path.read_text().replace(f'"{TAG}"', '"linux x86_64"'), encoding="utf-8")


def _no_vendor(root: Path) -> None:
    shutil.rmtree(root / VENDOR)


def _no_entrypoint(root: Path) -> None:
    (root / VENDOR / "bin/codex").unlink()


def _symlink(root: Path) -> None:
    (root / VENDOR / "codex-path/link").symlink_to("rg")


def _linked_directory(root: Path) -> None:
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not part of the package")
    (root / VENDOR / "codex-resources/linked").symlink_to(outside, target_is_directory=True)


def _other_hook(root: Path) -> None:
    path = root / "pyproject.toml"
    path.write_text(path.read_text() + '\n[tool.hatch.build.hooks.vcs]\nversion-file = "x.py"\n', encoding="utf-8")


def _shared_data(root: Path) -> None:
    path = root / "pyproject.toml"
    text = path.read_text().replace("reproducible = true", 'reproducible = true\nshared-data = {"README.md" = "x"}')
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("breakage", "kind", "message"),
    [
        (_no_pyproject, InputRefused, "no pyproject.toml in"),
        (_broken_pyproject, InputRefused, "cannot read .*pyproject.toml"),
        (_bad_tag, InputRefused, "'linux x86_64' is not a .*wheel platform tag"),
        (_no_vendor, InputRefused, "no Codex platform package in .*vendor"),
        (_no_entrypoint, InputRefused, "entrypoint .*bin/codex is missing"),
        (_symlink, InputRefused, "link is not a regular file"),
        (_linked_directory, InputRefused, "linked/secret is not a regular file of the staging directory"),
        (_other_hook, Unsupported, "build hooks vcs are not reproduced"),
        (_shared_data, Unsupported, "shared-data is not reproduced"),
    ],
)
def test_a_broken_staging_dir_is_refused_with_the_fix(
    tmp_path: Path, breakage: Callable[[Path], None], kind: type[ReleaseError], message: str
) -> None:
    staging = make_staging(tmp_path / "staging")
    breakage(staging)
    with pytest.raises(kind, match=message) as caught:
        write_wheel(staging, tmp_path / "out")
    assert "\n" not in str(caught.value)
    assert "stage-runtime" in str(caught.value) or "python -m build" in str(caught.value)
    assert files_in(tmp_path / "out") == []


def test_a_missing_platform_tag_is_refused(tmp_path: Path) -> None:
    staging = make_staging(tmp_path / "staging", tag=None)
    with pytest.raises(InputRefused, match=r"no platform-tag in \[tool.hatch.build.hooks.custom\].*stage-runtime"):
        write_wheel(staging, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_a_missing_staging_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRefused, match=r"does not exist.*stage-runtime"):
        write_wheel(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(InputRefused, match=r"is not a directory.*stage-runtime"):
        write_wheel(tmp_path / "a-file", tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_an_unwritable_wheel_dir_is_refused(staging: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for wheel_dir in (blocker, blocker / "sub"):
        with pytest.raises(DestinationRefused, match="cannot write into wheel directory"):
            write_wheel(staging, wheel_dir)
    assert blocker.read_text() == "not a directory"
    assert files_in(tmp_path) == ["a-file"]


# --- progress ---------------------------------------------------------------------------------------------


def test_progress_bar_on_request_and_quiet_when_not_a_terminal(
    staging: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_wheel(staging, tmp_path / "quiet")
    assert capsys.readouterr().err == ""
    write_wheel(staging, tmp_path / "shown", progress=True)
    err = capsys.readouterr().err
    assert "writing openai_codex_cli_bin wheel" in err
    assert "B/s" in err
    write_wheel(staging, tmp_path / "off", progress=False)
    assert capsys.readouterr().err == ""


# --- the real package -------------------------------------------------------------------------------------


@pytest.fixture
def real_staging(real_package: Callable[[str], Path], tmp_path: Path) -> Path:
    from codex_release.core.versions import parse_codex_version
    from codex_release.steps.stage_runtime import stage_runtime

    package = real_package("x86_64-unknown-linux-musl")
    version = json.loads((package / "codex-package.json").read_text())["version"]
    staged = stage_runtime(
        tmp_path / "staging",
        package,
        parse_codex_version(version),
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    return staged.staging_dir


@pytest.mark.runtime
@pytest.mark.slow
def test_real_linux_x64_package(real_staging: Path, tmp_path: Path) -> None:
    wheel = write_wheel(real_staging, tmp_path / "dist")
    payload = {
        str(path.relative_to(real_staging / "src")): path
        for path in sorted((real_staging / "src").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(wheel) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        (record,) = [name for name in archive.namelist() if name.endswith(".dist-info/RECORD")]
        rows = {row[0]: row for row in csv.reader(io.StringIO(archive.read(record).decode("utf-8")))}
    assert set(payload) == {name for name in infos if not name.startswith("openai_codex_cli_bin-")}
    for name, path in payload.items():
        data = path.read_bytes()
        info = infos[name]
        assert info.file_size == len(data)
        assert zlib.crc32(data) == info.CRC
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert rows[name][1:] == [f"sha256={expected}", str(len(data))]
        assert (info.external_attr >> 16 & 0o111 != 0) == os.access(path, os.X_OK), name
    assert (infos["codex_cli_bin/vendor/bin/codex"].external_attr >> 16) == 0o100755
    total = sum(info.file_size for info in infos.values())
    assert wheel.stat().st_size < 0.45 * total  # compressed about like zlib 6 (0.40 of the payload)
