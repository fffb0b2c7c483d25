"""The archive readers stay bounded whatever the archive claims, and never leave a caller waiting.

``verify`` reads untrusted wheels: a member that declares a few bytes but inflates to far more (a DEFLATE
bomb) must be refused without its output ever being held in memory, and a failure of the tar reader's
inflating thread of any kind (not only the errors it expects) must reach the caller instead of leaving it
blocked on the queue forever.
"""

from __future__ import annotations

import io
import tarfile
import tracemalloc
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from codex_release.archives import WheelArchive, _tar, extract_tgz
from codex_release.errors import ArchiveRefused
from tests.test_hostile_archives import declare_size


def _wheel_with(tmp_path: Path, data: bytes) -> Path:
    wheel = tmp_path / "x-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x/data.bin", data)
    return wheel


def test_a_member_inflating_past_its_declared_size_is_refused_without_holding_its_output(tmp_path: Path) -> None:
    bomb = _wheel_with(tmp_path, bytes(256 << 20))  # 256 MiB of zeros: about 256 KiB compressed
    declare_size(bomb, "x/data.bin", 10)
    tracemalloc.start()
    try:
        with WheelArchive(bomb) as archive, pytest.raises(ArchiveRefused, match=r"x/data.bin: CRC-32 or size mismatch"):
            archive.read("x/data.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"the reader held {peak >> 20} MiB for a member declaring 10 bytes"


def test_control_an_honest_small_member_reads_back(tmp_path: Path) -> None:
    wheel = _wheel_with(tmp_path, b"hello" * 1000)
    with WheelArchive(wheel) as archive:
        assert bytes(archive.read("x/data.bin")) == b"hello" * 1000


def _tgz(tmp_path: Path) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/a.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    path = tmp_path / "p.tgz"
    path.write_bytes(raw.getvalue())
    return path


class _Exploding:
    """An inflater whose every call fails with an error the reader does not expect."""

    eof = False
    unconsumed_tail = b""
    unused_data = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        raise MemoryError("inflater out of memory")


@pytest.mark.timeout(60)
def test_any_failure_of_the_inflating_thread_reaches_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _tgz(tmp_path)
    monkeypatch.setattr(_tar, "_INFLATE", SimpleNamespace(decompressobj=lambda wbits: _Exploding(), error=OSError))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(MemoryError, match="inflater out of memory"):
        extract_tgz(archive, scratch)
    assert list(scratch.iterdir()) == [], "the reader's directory is removed again"


def test_control_the_same_tarball_unpacks(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    tree = extract_tgz(_tgz(tmp_path), scratch)
    assert (tree.root / "package" / "a.txt").read_bytes() == b"hello"
