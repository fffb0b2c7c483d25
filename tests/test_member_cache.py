"""What one staging run knows about its files: digests from the archive reader, the executable compressed
while the package is still being unpacked, and the lean wheel made of the full wheel's members."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import shutil
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

import deflate
import pytest

from codex_release.archives import _tar, extract_tgz
from codex_release.core.versions import parse_codex_version
from codex_release.errors import ArchiveRefused
from codex_release.file_digests import Digests, FileKey, file_key
from codex_release.steps.stage_runtime import VENDOR, stage_runtime
from codex_release.wheels import parallel_deflate
from codex_release.wheels.wheel_writer import write_wheel
from tests.checkout import CHECKOUT
from tests.synthetic_binaries import make_elf, npm_tarball, write_binary, write_platform_package

V = parse_codex_version("0.169.0")
ARM = "aarch64-unknown-linux-musl"
X86 = "x86_64-unknown-linux-musl"
CODEX = "codex_cli_bin/vendor/bin/codex"


def _padding(size: int) -> bytes:
    """Compressible but not trivial bytes (so every codec has real work and the pieces differ)."""
    rng = random.Random(size)
    words = [rng.randbytes(rng.randint(2, 12)) for _ in range(64)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


@pytest.fixture
def small_split(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make a 1 MiB executable a split-size file (head pieces and tail), as the real 300 MB one is."""
    monkeypatch.setattr(parallel_deflate, "MIN_SPLIT_SIZE", 512 * 1024)
    monkeypatch.setattr(parallel_deflate, "HEAD_PIECE_SIZE", 64 * 1024)
    return 1 << 20


def _big_package(root: Path, triple: str, size: int) -> Path:
    package = write_platform_package(root / "pkg", triple)
    arch = triple.split("-", maxsplit=1)[0]
    write_binary(package / "bin" / "codex", make_elf(arch) + _padding(size))
    return npm_tarball(package, triple, root / "pkg.tgz")


def _member_bytes(wheel: Path) -> dict[str, tuple[int, int, bytes]]:
    """name -> (CRC-32, size, the raw compressed bytes) of every member."""
    out: dict[str, tuple[int, int, bytes]] = {}
    with zipfile.ZipFile(wheel) as archive, wheel.open("rb") as raw:
        for info in archive.infolist():
            raw.seek(info.header_offset + 26)
            name_len, extra_len = int.from_bytes(raw.read(2), "little"), int.from_bytes(raw.read(2), "little")
            raw.seek(info.header_offset + 30 + name_len + extra_len)
            out[info.filename] = (info.CRC, info.file_size, raw.read(info.compress_size))
    return out


# ------------------------------------------------------------------------------- the reader's digests
def test_the_reader_reports_every_file_with_its_true_digests(tmp_path: Path) -> None:
    tgz = _big_package(tmp_path, X86, 300_000)
    heard: list[tuple[Path, FileKey | None, int, Digests]] = []
    tree = extract_tgz(tgz, tmp_path, on_file=lambda *args: heard.append(args))
    try:
        assert len(heard) == len(tree.files) > 3
        for path, key, size, digests in heard:
            data = path.read_bytes()
            assert size == len(data)
            assert digests == Digests(zlib.crc32(data), hashlib.sha256(data).digest())
            assert key is not None
            assert key == file_key(path)
            assert tree.digests[key] == digests
        # the archive's own hash is of every byte of the file
        assert tree.sha512 == hashlib.sha512(tgz.read_bytes()).hexdigest()
    finally:
        shutil.rmtree(tree.root)


def test_a_file_changed_after_it_was_written_is_not_known_any_more(tmp_path: Path) -> None:
    tgz = _big_package(tmp_path, X86, 1000)
    tree = extract_tgz(tgz, tmp_path)
    path = tree.root / "package/vendor" / X86 / "bin/codex"
    before = file_key(path)
    assert before in tree.digests
    os.utime(path, ns=(0, 12345))  # any write changes the mtime (or the size)
    assert file_key(path) not in tree.digests


def test_the_zlib_fallback_reads_and_refuses_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where isal has no wheels (Windows on Arm) zlib inflates: same files, same checks."""
    tgz = _big_package(tmp_path, X86, 200_000)
    with_isal = extract_tgz(tgz, tmp_path)
    monkeypatch.setattr(_tar, "_INFLATE", zlib)  # where the tar reader looks it up
    with_zlib = extract_tgz(tgz, tmp_path)
    assert with_isal.digests.values()
    assert sorted(with_isal.digests.values(), key=repr) == sorted(with_zlib.digests.values(), key=repr)
    assert with_isal.sha512 == with_zlib.sha512
    damaged = bytearray(tgz.read_bytes())
    damaged[-6] ^= 0xFF  # the CRC-32 trailer
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(bytes(damaged))
    with pytest.raises(ArchiveRefused, match="CRC-32 or length trailer does not match"):
        extract_tgz(bad, tmp_path)
    bad.write_bytes(tgz.read_bytes() + gzip.compress(b"more"))
    with pytest.raises(ArchiveRefused, match="after the end of the gzip stream"):
        extract_tgz(bad, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".unpack-")) == sorted(
        [with_isal.root.name, with_zlib.root.name]
    )  # the refused ones left nothing


# ------------------------------------------------------------------------------- early compression
def _count_compress(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    real = parallel_deflate._compress

    def spy(source: object, piece: object, on_progress: object) -> object:
        calls.append(source)
        return real(source, piece, on_progress)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel_deflate, "_compress", spy)
    return calls


def test_the_executable_is_compressed_while_unpacking_and_the_wheel_is_the_same(
    tmp_path: Path, small_split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = _big_package(tmp_path, X86, small_split)
    calls = _count_compress(monkeypatch)
    fds_before = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    staged = stage_runtime(
        tmp_path / "stage",
        tgz,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    plan = parallel_deflate.plan_file(small_split + len(make_elf("x86_64")))
    assert len(plan) > 2  # head pieces and a tail
    early = [source for source in calls if isinstance(source, int)]
    assert len(early) == len(plan)  # every piece of the executable, read through the reader's descriptor
    # the same wheel as the writer alone makes from the staged tree, byte for byte
    alone = write_wheel(staged.staging_dir, tmp_path / "alone", progress=False)
    assert staged.wheel.read_bytes() == alone.read_bytes()
    if fds_before is not None:  # every early descriptor is closed again
        assert len(os.listdir("/proc/self/fd")) == fds_before


def test_without_pread_the_writer_compresses_it_and_the_wheel_is_the_same(
    tmp_path: Path, small_split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no os.pread: nothing starts early, and the bytes do not change."""
    tgz = _big_package(tmp_path, X86, small_split)
    first = stage_runtime(
        tmp_path / "a",
        tgz,
        V,
        wheel_dir=tmp_path / "w1",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    monkeypatch.delattr(os, "pread")
    calls = _count_compress(monkeypatch)
    second = stage_runtime(
        tmp_path / "b",
        tgz,
        V,
        wheel_dir=tmp_path / "w2",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert calls
    assert not any(isinstance(source, int) for source in calls)
    assert first.wheel.read_bytes() == second.wheel.read_bytes()


def test_nothing_is_compressed_without_a_wheel_dir(
    tmp_path: Path, small_split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = _big_package(tmp_path, X86, small_split)
    calls = _count_compress(monkeypatch)
    stage_runtime(
        tmp_path / "stage", tgz, V, progress=False, template=CHECKOUT.runtime_template, checkout=CHECKOUT.root
    )
    assert calls == []


# ------------------------------------------------------------------------------- the lean wheel
def test_the_lean_wheel_is_made_of_the_full_wheels_members(
    tmp_path: Path, small_split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = _big_package(tmp_path, ARM, small_split)
    compressed: list[int] = []
    real = deflate.deflate_compress

    def counting(data: bytes, level: int = 6) -> bytes:
        compressed.append(len(data))
        return real(data, level)

    monkeypatch.setattr(deflate, "deflate_compress", counting)
    staged = stage_runtime(
        tmp_path / "stage",
        tgz,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    full, lean = (_member_bytes(wheel) for wheel in staged.wheels)
    shared = [name for name in lean if name.startswith("codex_cli_bin/vendor/") and name in full]
    assert CODEX in shared
    assert len(shared) >= 3
    for name in shared:
        assert lean[name] == full[name]  # same CRC, size and compressed bytes
    # libdeflate ran only for the full wheel's executable tail: the lean wheel compressed nothing again
    executable = full[CODEX][1]
    assert compressed == [p.end - p.start for p in parallel_deflate.plan_file(executable) if p.codec == "libdeflate"]
    # and both read back to the staged bytes
    with zipfile.ZipFile(staged.wheels[1]) as archive:
        assert archive.read(CODEX) == (staged.staging_dir / VENDOR / "bin/codex").read_bytes()
        assert archive.testzip() is None


def test_a_package_refused_after_its_executable_leaves_nothing_behind(
    tmp_path: Path, small_split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executable's compression has started when a later member is refused: the run still fails
    cleanly, with no staging directory, no scratch, no wheel and every early descriptor closed."""
    package = write_platform_package(tmp_path / "pkg", X86)
    write_binary(package / "bin" / "codex", make_elf("x86_64") + _padding(small_split))
    tgz = tmp_path / "pkg.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(package, arcname=f"package/vendor/{X86}")
        link = tarfile.TarInfo(f"package/vendor/{X86}/zz-link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)  # after bin/codex in the stream
    calls = _count_compress(monkeypatch)
    fds = Path("/proc/self/fd")
    before = len(os.listdir(fds)) if fds.is_dir() else None
    with pytest.raises(ArchiveRefused, match="is a symlink"):
        stage_runtime(
            tmp_path / "stage",
            tgz,
            V,
            wheel_dir=tmp_path / "wheels",
            progress=False,
            template=CHECKOUT.runtime_template,
            checkout=CHECKOUT.root,
        )
    assert any(isinstance(source, int) for source in calls)  # the early compression had begun
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "pkg.tgz"]
    if before is not None:  # a running piece ends in the background, then its descriptor closes
        deadline = time.monotonic() + 30
        while len(os.listdir(fds)) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(os.listdir(fds)) == before
