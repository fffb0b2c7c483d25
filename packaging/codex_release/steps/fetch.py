"""Fetch the Codex platform packages of a release, integrity-checked and cached outside the repo.

Two sources:

``npm`` (default)
    ``npm view @openai/codex@<ver>-<suffix> dist --json`` gives the published ``integrity``
    (``sha512-<base64>``); ``npm pack`` downloads the tarball through npm's own registry config.
    Published npm versions are immutable, so the view answer is cached too: a second run asks nothing.
``github``
    Release assets ``codex-package-<target>.tar.gz`` checked against the release's ``SHA256SUMS``.

Tarballs are cached by content hash under the user cache directory (``CODEX_RELEASE_CACHE``
overrides it). ``DEST`` receives one ``codex-<version>-<target>.tgz`` per target, which
``stage-runtime`` accepts as SOURCE.

The cache is never trusted: every use hashes the cached blob again against the published hash (the
npm ``integrity`` or the SHA256SUMS line) and a blob that no longer matches is dropped and fetched
again; a cached npm answer that is not valid JSON with a well-formed ``integrity`` is asked again, and
one whose hash the fresh download does not match is replaced once by a fresh answer. ``DEST`` gets a
copy (a reflink where the filesystem can share blocks), never a hard link, so editing ``DEST`` cannot
change the cache. Re-hashing is paid once per fetch: cheap next to a download, and the only way to
know that the blob on disk is still the published one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codex_release import processes
from codex_release.core.locations import cache_dir
from codex_release.core.runtime_source import copy_package, open_source
from codex_release.core.staging import check_place, deferred_signals, hold, part_prefix, write_text_files
from codex_release.core.targets import Target
from codex_release.core.versions import CodexVersion
from codex_release.errors import ArchiveRefused, InputRefused, ToolFailed
from codex_release.file_digests import file_hash

__all__ = [
    "GITHUB_RELEASES",
    "Integrity",
    "fetch_runtime",
    "fetched_package_dir",
]

GITHUB_RELEASES = "https://github.com/openai/codex/releases/download"
Source = Literal["npm", "github"]
_NPM_VIEW_TIMEOUT = 120.0
_NPM_PACK_TIMEOUT = 900.0
"""``npm pack`` downloads up to about 150 MB through the registry; a stalled download must not hang CI."""


@dataclass(frozen=True)
class Integrity:
    """An expected digest of a download (``sha512`` from npm, ``sha256`` from SHA256SUMS)."""

    algorithm: Literal["sha512", "sha256"]
    digest: bytes

    @classmethod
    def from_sri(cls, value: str) -> Integrity:
        algorithm, _, b64 = str(value).partition("-")
        if algorithm != "sha512" or not b64:
            raise ArchiveRefused(f"unsupported integrity {str(value)[:40]!r} from the registry (expected sha512-...)")
        try:
            digest = base64.b64decode(b64, validate=True)
        except ValueError:
            digest = b""
        if len(digest) != hashlib.sha512().digest_size:
            raise ArchiveRefused(f"malformed integrity {str(value)[:40]!r} from the registry (not a base64 sha512)")
        return cls("sha512", digest)

    @property
    def hex(self) -> str:
        return self.digest.hex()

    def matches(self, path: Path) -> bool:
        """Whether the file at ``path`` has this digest (False when it cannot be read)."""
        try:
            return file_hash(path, self.algorithm).digest() == self.digest
        except OSError:
            return False

    def check(self, path: Path, what: str) -> None:
        hasher = file_hash(path, self.algorithm)
        if hasher.digest() != self.digest:
            raise ArchiveRefused(
                f"{what}: {self.algorithm} mismatch (expected {self.hex[:16]}..., got {hasher.hexdigest()[:16]}...): "
                "the download is corrupt or was tampered with; nothing was cached"
            )


def _npm(*args: str, timeout: float) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise ToolFailed("npm is not on PATH: install Node.js/npm (it fetches the Codex platform packages)")
    result = processes.run([npm, *args], timeout=timeout, what=f"`npm {' '.join(args)}`")
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if "npm warn" not in line.lower()]
        tail = " ".join(" ".join(lines).split())[-400:]
        raise ToolFailed(f"`npm {' '.join(args)}` failed (exit {result.returncode}): {tail}")
    return result.stdout


def _meta_path(spec: str, meta_dir: Path) -> Path:
    return meta_dir / (spec.replace("/", "_").replace("@", "") + ".json")


def _cached_integrity(meta: Path) -> Integrity | None:
    """The integrity recorded in a cached ``npm view`` answer; ``None`` (and the file dropped) when the
    file is missing, unreadable or not what this module writes."""
    try:
        return Integrity.from_sri(json.loads(meta.read_text(encoding="utf-8"))["integrity"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, LookupError, TypeError, ArchiveRefused):
        meta.unlink(missing_ok=True)
        return None


def _npm_integrity(spec: str, meta_dir: Path) -> Integrity:
    meta = _meta_path(spec, meta_dir)
    cached = _cached_integrity(meta)
    if cached is not None:
        return cached
    out = _npm("view", spec, "dist", "--json", timeout=_NPM_VIEW_TIMEOUT)
    try:
        dist = json.loads(out) if out.strip() else None
    except ValueError:
        dist = None
    if not isinstance(dist, dict) or "integrity" not in dist:
        raise InputRefused(f"{spec} is not published on the npm registry: check the Codex version")
    meta_dir.mkdir(parents=True, exist_ok=True)
    write_text_files(meta.parent, {meta.name: json.dumps({"integrity": dist["integrity"]})}, label="npm metadata")
    return Integrity.from_sri(dist["integrity"])


def _reuse(cached: Path, integrity: Integrity) -> bool:
    """Whether the cached blob still has its published hash; a blob that does not is dropped."""
    if not cached.is_file():
        return False
    if integrity.matches(cached):
        return True
    cached.unlink(missing_ok=True)
    return False


def _download_npm(spec: str, integrity: Integrity, blobs: Path) -> Path:
    cached = blobs / f"{integrity.hex}.tgz"
    if _reuse(cached, integrity):
        return cached
    with tempfile.TemporaryDirectory(dir=blobs, prefix=".pack-") as tmp:
        out = _npm("pack", spec, "--json", "--pack-destination", tmp, timeout=_NPM_PACK_TIMEOUT)
        try:
            filename = json.loads(out)[0]["filename"]
        except (ValueError, LookupError, TypeError):
            raise ToolFailed(f"`npm pack {spec}` printed no tarball name: check the npm client") from None
        tarball = Path(tmp) / Path(filename).name
        integrity.check(tarball, spec)
        os.replace(tarball, cached)
    return cached


def _http_get(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except urllib.error.HTTPError as exc:
        raise InputRefused(f"GET {url} failed: HTTP {exc.code}: check the release tag and --base-url") from None
    except (urllib.error.URLError, OSError) as exc:
        raise InputRefused(f"GET {url} failed: {exc}: check the network and --base-url") from None


def _github_sums(base_url: str, version: CodexVersion, blobs: Path) -> dict[str, Integrity]:
    with tempfile.TemporaryDirectory(dir=blobs, prefix=".sums-") as tmp:
        sums = Path(tmp) / "SHA256SUMS"
        _http_get(f"{base_url}/{version.tag}/SHA256SUMS", sums)
        result: dict[str, Integrity] = {}
        for line in sums.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and len(parts[0]) == 64:
                try:
                    result[parts[1].lstrip("*")] = Integrity("sha256", bytes.fromhex(parts[0]))
                except ValueError:
                    continue
    return result


def _download_github(url: str, integrity: Integrity, blobs: Path) -> Path:
    cached = blobs / f"{integrity.hex}.tgz"
    if _reuse(cached, integrity):
        return cached
    with tempfile.TemporaryDirectory(dir=blobs, prefix=".get-") as tmp:
        tarball = Path(tmp) / "asset.tgz"
        _http_get(url, tarball)
        integrity.check(tarball, url)
        os.replace(tarball, cached)
    return cached


_FICLONE = 0x40049409
"""Linux ``ioctl`` that makes a file share another's blocks (btrfs, XFS, bcachefs); the standard library
has no reflink call, so it is made directly. Anything else gets a plain copy."""


def _copy_or_reflink(source: Path, dest: Path) -> None:
    """Copy ``source`` to the new file ``dest``: a reflink where the filesystem supports one (instant, no
    extra space, and still an independent file: writing one never changes the other), else a copy."""
    if sys.platform.startswith("linux"):
        import fcntl

        with open(source, "rb") as src, open(dest, "wb") as dst:
            try:
                fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
                return
            except OSError:
                pass
    shutil.copyfile(source, dest)


def _place(cached: Path, dest: Path) -> None:
    """Copy (or reflink) a cached tarball to ``dest`` atomically; never a hard link, which would let an
    edit of ``dest`` corrupt the cache. A partial file of a killed run is swept by the next run."""
    tmp = dest.with_name(f"{part_prefix(dest.name)}{os.urandom(4).hex()}.part")
    try:
        _copy_or_reflink(cached, tmp)
        os.replace(tmp, dest)
    except BaseException:
        with deferred_signals():
            tmp.unlink(missing_ok=True)
        raise


def _fetch_cached(
    version: CodexVersion, targets: Iterable[Target], *, source: Source, base_url: str | None
) -> dict[Target, Path]:
    wanted = list(targets)
    root = cache_dir()
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    if source == "npm":

        def one(target: Target) -> Path:
            spec = target.npm_spec(version.semver)
            meta_dir = root / "npm-meta"
            was_cached = _meta_path(spec, meta_dir).is_file()
            integrity = _npm_integrity(spec, meta_dir)
            try:
                return _download_npm(spec, integrity, blobs)
            except ArchiveRefused:
                if not was_cached:
                    raise
            # The cached answer names a hash the registry's tarball does not have: ask again, once.
            _meta_path(spec, meta_dir).unlink(missing_ok=True)
            return _download_npm(spec, _npm_integrity(spec, meta_dir), blobs)

    else:
        base = (base_url or GITHUB_RELEASES).rstrip("/")
        sums = _github_sums(base, version, blobs)

        def one(target: Target) -> Path:
            asset = f"codex-package-{target.triple}.tar.gz"
            if asset not in sums:
                raise ArchiveRefused(f"SHA256SUMS of {version.tag} lists no {asset}: the release lacks this target")
            return _download_github(f"{base}/{version.tag}/{asset}", sums[asset], blobs)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(wanted, pool.map(one, wanted), strict=True))


def fetch_runtime(
    version: CodexVersion,
    targets: Iterable[Target],
    dest: Path,
    *,
    checkout: Path,
    source: Source = "npm",
    base_url: str | None = None,
) -> dict[Target, Path]:
    """Fetch (or reuse from the cache) each target's platform package into ``dest``.

    Returns target -> ``dest/codex-<version>-<triple>.tgz``. Nothing is placed in ``dest`` unless every
    download verified. ``dest`` follows the output rules of :mod:`codex_release.core.staging` (inside the
    checkout only a git-ignored directory; never ``/`` or the home directory; ``checkout`` is its root) and
    is locked while the files are placed.
    """
    where = check_place(dest, label="--dest", checkout=checkout, in_checkout="ignored")
    cached = _fetch_cached(version, targets, source=source, base_url=base_url)
    placed: dict[Target, Path] = {}
    with hold(where, label="--dest"):
        where.mkdir(exist_ok=True)
        for target, blob in cached.items():
            path = dest / f"codex-{version.pep440}-{target.triple}.tgz"
            _place(blob, path)
            placed[target] = path
    return placed


def fetched_package_dir(version: CodexVersion, target: Target, *, include_voice: bool = True) -> Path:
    """The unpacked platform package of ``target`` (fetched and unpacked once, then reused from the cache)."""
    (blob,) = _fetch_cached(version, [target], source="npm", base_url=None).values()
    # 32 hex digits (128 bits) of the blob's digest name the tree: with the full 128 the deepest files of a
    # Windows package pass the 260-character path limit under the user cache directory.
    unpacked = cache_dir() / "unpacked" / f"{blob.stem[:32]}{'' if include_voice else '-novoice'}"
    marker = unpacked.with_name(unpacked.name + ".complete")
    if marker.is_file() and unpacked.is_dir():
        return unpacked
    unpacked.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=unpacked.parent, prefix=".unpack-"))
    try:
        copy_package(open_source(blob), tmp, include_voice=include_voice)
        shutil.rmtree(unpacked, ignore_errors=True)
        os.replace(tmp, unpacked)
        marker.touch()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return unpacked
