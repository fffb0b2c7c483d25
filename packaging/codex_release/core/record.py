"""The record of a release: ``SHA256SUMS`` and ``manifest.json`` in DIST (the format, written once here).

``release`` writes it after verifying, ``verify --write-checksums`` writes the same for a release
assembled from CI artifacts (:mod:`codex_release.checks.release_record`), ``verify-index`` compares what
the index serves against it, and ``release`` recognises its own earlier output by it
(:func:`earlier_release`).
"""

from __future__ import annotations

import json
from pathlib import Path

from codex_release.core.dist import list_dist
from codex_release.core.staging import write_text_files
from codex_release.errors import FaultFound
from codex_release.file_digests import file_sha256

__all__ = ["MANIFEST_FILE", "SUMS_FILE", "checksum_texts", "earlier_release", "write_checksums"]

MANIFEST_FILE = "manifest.json"
SUMS_FILE = "SHA256SUMS"


def checksum_texts(
    dist: Path, targets_by_file: dict[str, str], variants_by_file: dict[str, str] | None = None
) -> dict[str, str]:
    """The texts of ``SHA256SUMS`` and ``manifest.json`` (file, size, sha256, tags, target, variant) for ``dist``.

    ``variant`` is ``full`` or ``lean`` for a runtime wheel (:mod:`codex_release.core.variants`), else null.
    """
    variants = variants_by_file or {}
    listing = list_dist(dist)
    if listing.faults:
        raise FaultFound(f"cannot record the release in {dist}: {'; '.join(listing.faults)}")
    entries = []
    for artifact in listing.files:
        path = artifact.path
        digest = file_sha256(path)
        tags = sorted(str(t) for t in artifact.tags)
        entries.append(
            {
                "file": path.name,
                "size": path.stat().st_size,
                "sha256": digest,
                "tags": tags,
                "target": targets_by_file.get(path.name),
                "variant": variants.get(path.name),
            }
        )
    return {
        SUMS_FILE: "".join(f"{e['sha256']}  {e['file']}\n" for e in entries),
        MANIFEST_FILE: json.dumps({"artifacts": entries}, indent=2) + "\n",
    }


def write_checksums(
    dist: Path, targets_by_file: dict[str, str], variants_by_file: dict[str, str] | None = None
) -> None:
    """Write ``SHA256SUMS`` and ``manifest.json`` (file, size, sha256, tags, target, variant) for ``dist``."""
    write_text_files(dist, checksum_texts(dist, targets_by_file, variants_by_file), label="release record")


def earlier_release(dist: Path) -> str | None:
    """``None`` when ``dist`` holds only what an earlier ``release`` wrote, else what else it holds.

    Recognised by its ``manifest.json`` (a JSON object whose ``artifacts`` list names files): every entry
    of ``dist`` must be that manifest, ``SHA256SUMS`` or a regular file the manifest lists. A directory
    that merely has some ``manifest.json`` (a web app's, say) is not recognised.
    """
    manifest = dist / MANIFEST_FILE
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return f"holds no {MANIFEST_FILE} written by an earlier release"
    artifacts = document.get("artifacts") if isinstance(document, dict) else None
    if not isinstance(artifacts, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("file"), str) for entry in artifacts
    ):
        return f"its {MANIFEST_FILE} was not written by a release"
    listed = {entry["file"] for entry in artifacts} | {MANIFEST_FILE, SUMS_FILE}
    for entry in sorted(dist.iterdir()):
        if entry.name not in listed or entry.is_symlink() or not entry.is_file():
            return f"holds {entry.name!r}, which no earlier release wrote"
    return None
