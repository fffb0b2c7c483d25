from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from codex_release import processes
from codex_release.core.locations import cache_dir
from codex_release.core.runtime_source import open_source
from codex_release.core.targets import TARGETS, get_target
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ArchiveRefused, DestinationRefused, InputRefused, ToolFailed
from codex_release.steps.fetch import Integrity, fetch_runtime
from tests import fake_npm
from tests.checkout import CHECKOUT
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
    placed = fetch_runtime(VERSION, [LINUX], dest, source="github", base_url=base, checkout=CHECKOUT.root)
    assert placed == {LINUX: dest / "codex-0.169.0-x86_64-unknown-linux-musl.tgz"}
    assert placed[LINUX].read_bytes() == (assets / "codex-package-x86_64-unknown-linux-musl.tar.gz").read_bytes()
    assert open_source(placed[LINUX]).kind == "archive"
    blobs = list((isolated_cache / "blobs").glob("*.tgz"))
    assert len(blobs) == 1
    # The cache is keyed by hash: the server going away does not matter for the tarball itself.
    (assets / "codex-package-x86_64-unknown-linux-musl.tar.gz").unlink()
    again = fetch_runtime(VERSION, [LINUX], tmp_path / "dest2", source="github", base_url=base, checkout=CHECKOUT.root)
    assert again[LINUX].read_bytes() == placed[LINUX].read_bytes()


def test_github_checksum_mismatch_caches_and_places_nothing(
    isolated_cache: Path, release_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, assets = release_server
    _publish(assets, [LINUX.triple], corrupt=LINUX.triple)
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveRefused, match=r"sha256 mismatch .* tampered with; nothing was cached"):
        fetch_runtime(VERSION, [LINUX], dest, source="github", base_url=base, checkout=CHECKOUT.root)
    assert not dest.exists()
    assert list((isolated_cache / "blobs").iterdir()) == []


def test_github_missing_asset_and_missing_release(
    isolated_cache: Path, release_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, assets = release_server
    _publish(assets, [LINUX.triple])
    with pytest.raises(ArchiveRefused, match=r"lists no codex-package-aarch64-apple-darwin\.tar\.gz"):
        fetch_runtime(
            VERSION,
            [get_target("aarch64-apple-darwin")],
            tmp_path / "d",
            source="github",
            base_url=base,
            checkout=CHECKOUT.root,
        )
    other = parse_codex_version("0.1.0")
    with pytest.raises(InputRefused, match="HTTP 404"):
        fetch_runtime(other, [LINUX], tmp_path / "d", source="github", base_url=base, checkout=CHECKOUT.root)


def test_integrity_parsing() -> None:
    with pytest.raises(ArchiveRefused, match="unsupported integrity"):
        Integrity.from_sri("md5-abc")
    digest = hashlib.sha512(b"x").digest()
    assert Integrity.from_sri("sha512-" + base64.b64encode(digest).decode()).digest == digest
    for malformed in ("sha512-AAAA", "sha512-not base64!", "sha512-" + "A" * 5000):
        with pytest.raises(ArchiveRefused, match="malformed integrity"):
            Integrity.from_sri(malformed)


@pytest.mark.runtime
def test_npm_fetch_of_the_pinned_release(pinned_version: CodexVersion, tmp_path: Path) -> None:
    placed = fetch_runtime(pinned_version, TARGETS, tmp_path, checkout=CHECKOUT.root)
    assert sorted(p.name for p in placed.values()) == sorted(f"codex-{pinned_version}-{t.triple}.tgz" for t in TARGETS)
    for target, path in placed.items():
        assert open_source(path).kind == "archive"
        assert path.name == f"codex-{pinned_version}-{target.triple}.tgz"


@pytest.mark.runtime
def test_npm_unknown_version_is_a_clear_error(isolated_cache: Path, tmp_path: Path) -> None:
    with pytest.raises((InputRefused, ToolFailed), match=r"not published on the npm registry|npm view .* failed"):
        fetch_runtime(parse_codex_version("0.0.1"), [LINUX], tmp_path, checkout=CHECKOUT.root)


# --------------------------------------------------------------------------------------------
# The npm source and the cache, against a fake ``npm`` on PATH (tests/fake_npm.py)
# --------------------------------------------------------------------------------------------

SPEC = LINUX.npm_spec(VERSION.semver)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path) -> Path:
    """A fake npm registry serving the linux-x64 package of VERSION; the fake npm is first on PATH."""
    root = tmp_path / "registry"
    fake_npm.install(tmp_path / "bin", root)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    fake_npm.publish(root, SPEC, make_tgz(tmp_path / "published.tgz"))
    return root


def _blob(cache: Path) -> Path:
    (blob,) = (cache / "blobs").glob("*.tgz")
    return blob


def test_npm_fetch_places_a_copy_never_a_link_to_the_cache(
    registry: Path, isolated_cache: Path, tmp_path: Path
) -> None:
    placed = fetch_runtime(VERSION, [LINUX], tmp_path / "dest", checkout=CHECKOUT.root)[LINUX]
    published = (tmp_path / "published.tgz").read_bytes()
    assert placed.read_bytes() == published
    blob = _blob(isolated_cache)
    assert placed.stat().st_nlink == 1
    assert not os.path.samefile(placed, blob)
    with open(placed, "r+b") as handle:  # edit DEST in place, as a careless user would
        handle.write(b"garbage")
    assert blob.read_bytes() == published
    assert fake_npm.calls(registry) == [f"view {SPEC}", f"pack {SPEC}"]
    again = fetch_runtime(VERSION, [LINUX], tmp_path / "dest2", checkout=CHECKOUT.root)[LINUX]
    assert again.read_bytes() == published
    assert fake_npm.calls(registry) == [f"view {SPEC}", f"pack {SPEC}"], "a cached run asks npm nothing"


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_a_damaged_cached_blob_is_dropped_and_fetched_again(
    registry: Path, isolated_cache: Path, tmp_path: Path, damage: str
) -> None:
    fetch_runtime(VERSION, [LINUX], tmp_path / "dest", checkout=CHECKOUT.root)
    blob = _blob(isolated_cache)
    data = blob.read_bytes()
    if damage == "truncate":
        blob.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        blob.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:
        blob.unlink()
    placed = fetch_runtime(VERSION, [LINUX], tmp_path / "dest2", checkout=CHECKOUT.root)[LINUX]
    assert placed.read_bytes() == data
    assert _blob(isolated_cache).read_bytes() == data
    assert fake_npm.calls(registry) == [f"view {SPEC}", f"pack {SPEC}", f"pack {SPEC}"]


@pytest.mark.parametrize(
    "meta_text", ["{not json", "", '{"integrity": 5}', "[]", '{"integrity": "sha512-AAAA"}', "\xff\xfe"]
)
def test_a_corrupt_cached_npm_answer_is_asked_again(
    registry: Path, isolated_cache: Path, tmp_path: Path, meta_text: str
) -> None:
    fetch_runtime(VERSION, [LINUX], tmp_path / "dest", checkout=CHECKOUT.root)
    (meta,) = (isolated_cache / "npm-meta").glob("*.json")
    meta.write_bytes(meta_text.encode("utf-8", "surrogateescape") if meta_text != "\xff\xfe" else b"\xff\xfe")
    placed = fetch_runtime(VERSION, [LINUX], tmp_path / "dest2", checkout=CHECKOUT.root)[LINUX]
    assert placed.read_bytes() == (tmp_path / "published.tgz").read_bytes()
    assert fake_npm.calls(registry) == [f"view {SPEC}", f"pack {SPEC}", f"view {SPEC}"]
    assert json.loads(meta.read_text())["integrity"].startswith("sha512-")


def test_a_cached_npm_answer_with_a_stale_hash_is_replaced_once(
    registry: Path, isolated_cache: Path, tmp_path: Path
) -> None:
    fetch_runtime(VERSION, [LINUX], tmp_path / "dest", checkout=CHECKOUT.root)
    (meta,) = (isolated_cache / "npm-meta").glob("*.json")
    other = "sha512-" + base64.b64encode(hashlib.sha512(b"another tarball").digest()).decode()
    meta.write_text(json.dumps({"integrity": other}))
    placed = fetch_runtime(VERSION, [LINUX], tmp_path / "dest2", checkout=CHECKOUT.root)[LINUX]
    assert placed.read_bytes() == (tmp_path / "published.tgz").read_bytes()
    assert fake_npm.calls(registry)[2:] == [f"pack {SPEC}", f"view {SPEC}"]


def test_a_tarball_that_does_not_match_the_registry_is_refused_and_not_cached(
    registry: Path, isolated_cache: Path, tmp_path: Path
) -> None:
    served = registry / (SPEC.replace("/", "_").replace("@", "") + ".tgz")
    served.write_bytes(served.read_bytes() + b"tampered")
    with pytest.raises(ArchiveRefused, match=r"sha512 mismatch .* nothing was cached"):
        fetch_runtime(VERSION, [LINUX], tmp_path / "dest", checkout=CHECKOUT.root)
    assert list((isolated_cache / "blobs").glob("*.tgz")) == []
    assert not (tmp_path / "dest").exists()


def test_dest_under_a_file_is_refused_before_anything_is_fetched(registry: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for dest, says in (
        (tmp_path / "file" / "sub", r"lies under \S+file, which is a file: pass a path through directories"),
        (tmp_path / "file", r"is a file: pass a directory"),
    ):
        with pytest.raises(DestinationRefused, match=rf"--dest \S+ {says}"):
            fetch_runtime(VERSION, [LINUX], dest, checkout=CHECKOUT.root)
    assert fake_npm.calls(registry) == []


def test_a_hung_npm_is_stopped_at_the_timeout(registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_NPM_SLEEP", "300")
    monkeypatch.setenv(processes.TIMEOUT_ENV, "1")
    started = time.monotonic()
    with pytest.raises(processes.ChildTimeout, match=r"`npm view @openai/codex@0\.169\.0-linux-x64 dist --json` did"):
        fetch_runtime(VERSION, [LINUX], tmp_path / "dest", checkout=CHECKOUT.root)
    assert time.monotonic() - started < 20
