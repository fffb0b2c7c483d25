from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from codex_release.errors import ReleaseError
from codex_release.fetch import Integrity, cache_dir, fetch_runtime
from codex_release.runtime_source import open_source
from codex_release.targets import TARGETS, get_target
from codex_release.versions import CodexVersion, parse_codex_version
from tests.test_runtime_source import make_tgz

VERSION = parse_codex_version("rust-v0.169.0")
LINUX = get_target("x86_64-unknown-linux-musl")


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CODEX_RELEASE_CACHE", str(cache))
    assert cache_dir() == cache
    return cache


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server laid out like GitHub release downloads: BASE/<tag>/<asset>."""
    root = tmp_path / "www"
    assets = root / VERSION.tag
    assets.mkdir(parents=True)
    handler = partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", assets
    finally:
        server.shutdown()
        server.server_close()


def _publish(assets: Path, targets: list[str], corrupt: str | None = None) -> None:
    lines = []
    for triple in targets:
        asset = assets / f"codex-package-{triple}.tar.gz"
        make_tgz(asset, prefix="")
        digest = hashlib.sha256(asset.read_bytes()).hexdigest()
        if triple == corrupt:
            asset.write_bytes(asset.read_bytes() + b"tampered")
        lines.append(f"{digest}  {asset.name}\n")
    (assets / "SHA256SUMS").write_text("".join(lines))


def test_github_source_verifies_caches_and_places(
    isolated_cache: Path, release_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, assets = release_server
    _publish(assets, [LINUX.triple])
    dest = tmp_path / "dest"
    placed = fetch_runtime(VERSION, [LINUX], dest, source="github", base_url=base)
    assert placed == {LINUX: dest / "codex-0.169.0-x86_64-unknown-linux-musl.tgz"}
    assert placed[LINUX].read_bytes() == (assets / "codex-package-x86_64-unknown-linux-musl.tar.gz").read_bytes()
    assert open_source(placed[LINUX]).kind == "archive"
    blobs = list((isolated_cache / "blobs").glob("*.tgz"))
    assert len(blobs) == 1
    # The cache is keyed by hash: the server going away does not matter for the tarball itself.
    (assets / "codex-package-x86_64-unknown-linux-musl.tar.gz").unlink()
    again = fetch_runtime(VERSION, [LINUX], tmp_path / "dest2", source="github", base_url=base)
    assert again[LINUX].read_bytes() == placed[LINUX].read_bytes()


def test_github_checksum_mismatch_caches_and_places_nothing(
    isolated_cache: Path, release_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, assets = release_server
    _publish(assets, [LINUX.triple], corrupt=LINUX.triple)
    dest = tmp_path / "dest"
    with pytest.raises(ReleaseError, match=r"sha256 mismatch .* tampered with; nothing was cached"):
        fetch_runtime(VERSION, [LINUX], dest, source="github", base_url=base)
    assert not dest.exists()
    assert list((isolated_cache / "blobs").iterdir()) == []


def test_github_missing_asset_and_missing_release(
    isolated_cache: Path, release_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, assets = release_server
    _publish(assets, [LINUX.triple])
    with pytest.raises(ReleaseError, match=r"lists no codex-package-aarch64-apple-darwin\.tar\.gz"):
        fetch_runtime(VERSION, [get_target("aarch64-apple-darwin")], tmp_path / "d", source="github", base_url=base)
    other = parse_codex_version("0.1.0")
    with pytest.raises(ReleaseError, match="HTTP 404"):
        fetch_runtime(other, [LINUX], tmp_path / "d", source="github", base_url=base)


def test_integrity_parsing() -> None:
    with pytest.raises(ReleaseError, match="unsupported integrity"):
        Integrity.from_sri("md5-abc")
    assert Integrity.from_sri("sha512-AAAA").digest == b"\x00\x00\x00"


@pytest.mark.runtime
def test_npm_fetch_of_the_pinned_release(pinned_version: CodexVersion, tmp_path: Path) -> None:
    placed = fetch_runtime(pinned_version, TARGETS, tmp_path)
    assert sorted(p.name for p in placed.values()) == sorted(f"codex-{pinned_version}-{t.triple}.tgz" for t in TARGETS)
    for target, path in placed.items():
        assert open_source(path).kind == "archive"
        assert path.name == f"codex-{pinned_version}-{target.triple}.tgz"


@pytest.mark.runtime
def test_npm_unknown_version_is_a_clear_error(isolated_cache: Path, tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"not published on the npm registry|npm view .* failed"):
        fetch_runtime(parse_codex_version("0.0.1"), [LINUX], tmp_path)
