"""The main job: a local release of one Codex version into a dist directory.

fetch (cached) -> stage + write each target's runtime wheels (full, plus lean where an optional
``codex-path/`` helper narrows the tags, :mod:`codex_release.variants`) -> SDK wheel + sdist -> SHA256SUMS and
``manifest.json`` -> verify -> smoke (fresh venv, offline install, a real turn on the real binary).
Everything is built in a temporary directory beside DIST and moved into place only when verification
and smoke passed, so a failed release leaves DIST as it was.

DIST follows the output rules of :mod:`codex_release.staging`: never the checkout, ``/``, the home
directory or a tracked directory (a git-ignored one such as ``dist/`` is fine), one release at a time,
and it replaces only an empty directory or the output of an earlier release (recognised by
:func:`earlier_release`); anything else needs ``--overwrite``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codex_release.checks.index_limits import SizeLimits
from codex_release.checks.publisher_twine import Publisher
from codex_release.checks.verify import VerifyReport, verify_dist
from codex_release.dist_folder import list_dist
from codex_release.errors import ReleaseError
from codex_release.fetch import fetch_runtime
from codex_release.file_digests import file_sha256
from codex_release.stage_runtime import stage_runtime
from codex_release.staging import (
    check_place,
    check_replaceable,
    hold,
    private_tempdir,
    replace_when_done,
    write_text_files,
)
from codex_release.targets import TARGETS, Target
from codex_release.versions import CodexVersion

__all__ = ["ReleaseResult", "build_release", "checksum_texts", "earlier_release", "write_checksums"]

MANIFEST_FILE = "manifest.json"
SUMS_FILE = "SHA256SUMS"


@dataclass(frozen=True)
class ReleaseResult:
    dist_dir: Path
    files: tuple[Path, ...]
    report: VerifyReport


def checksum_texts(
    dist: Path, targets_by_file: dict[str, str], variants_by_file: dict[str, str] | None = None
) -> dict[str, str]:
    """The texts of ``SHA256SUMS`` and ``manifest.json`` (file, size, sha256, tags, target, variant) for ``dist``.

    ``variant`` is ``full`` or ``lean`` for a runtime wheel (:mod:`codex_release.variants`), else null.
    """
    variants = variants_by_file or {}
    listing = list_dist(dist)
    if listing.faults:
        raise ReleaseError(f"cannot record the release in {dist}: {'; '.join(listing.faults)}")
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


def build_release(
    version: CodexVersion,
    dist_dir: Path,
    *,
    targets: tuple[Target, ...] = TARGETS,
    with_sdk: bool = True,
    run_smoke: bool = True,
    echo: Callable[[str], None] = print,
    progress: bool | None = None,
    overwrite: bool = False,
    limits: SizeLimits | None = None,
    publisher: Publisher | None = None,
) -> ReleaseResult:
    """Build and verify every artifact of ``version``; replace ``dist_dir`` only on success.

    ``dist_dir`` must be empty, absent or an earlier release's output unless ``overwrite``. ``limits``: the
    index's upload limits the sizes are verified against (default: the index's defaults). ``publisher``: the
    twine that verify's ``twine check`` runs with (the CLI passes the pinned publish action's).
    """
    dist = check_place(dist_dir, label="--dist-dir", in_checkout="ignored")
    if with_sdk:
        from codex_release.stage_sdk import check_sdk_source

        check_sdk_source(version)  # the pin and the generated types, before six packages are fetched
    with hold(dist, label="--dist-dir"), private_tempdir("release") as work:
        check_replaceable(dist, label="--dist-dir", overwrite=overwrite, ours=earlier_release)
        with replace_when_done(dist) as out:
            echo(f"fetching {len(targets)} platform packages of Codex {version.tag} (cached after the first run)")
            sources = fetch_runtime(version, targets, work / "fetched")
            targets_by_file: dict[str, str] = {}
            variants_by_file: dict[str, str] = {}
            for target, source in sources.items():
                staged = stage_runtime(
                    work / "staging" / target.triple, source, version, wheel_dir=out, progress=progress
                )
                assert staged.wheel is not None
                for variant, wheel in zip(staged.variants, staged.wheels, strict=True):
                    targets_by_file[wheel.name] = target.triple
                    variants_by_file[wheel.name] = variant.name
                    echo(f"  {target.triple:28} -> {wheel.name} ({variant.name})")
            if with_sdk:
                from codex_release.stage_sdk import stage_sdk

                stage_sdk(work / "staging" / "sdk", version, dist_dir=out)
                echo("  SDK wheel and sdist built")
            write_checksums(out, targets_by_file, variants_by_file)
            report = verify_dist(out, version, require_sdk=with_sdk, limits=limits, publisher=publisher)
            echo(report.table())
            if not report.ok:
                raise ReleaseError(
                    f"verification failed for {version}: see the table above; {dist_dir} was left unchanged"
                )
            if run_smoke:
                from codex_release.checks.smoke import smoke

                smoked = smoke(out, version, echo=echo)
                echo(smoked.table())
                if not smoked.ok:
                    raise ReleaseError(
                        f"smoke tests failed for {version}: see the table above; {dist_dir} was left unchanged"
                    )
        files = tuple(sorted(dist.iterdir()))
    return ReleaseResult(dist, files, report)
