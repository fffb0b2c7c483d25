"""The record of a verified release: ``SHA256SUMS`` and ``manifest.json`` in DIST, and a Markdown summary.

``verify --write-checksums`` writes the record that ``release`` writes (the same
:func:`codex_release.core.record.checksum_texts`), with each runtime wheel's target taken from its verified
``codex-package.json``, so a release assembled from CI artifacts gets the record a local ``release`` gets:
``verify-index`` later compares what the index serves against it. ``verify --summary FILE`` appends the
release's table and the ``SHA256SUMS`` text to FILE (GitHub's ``$GITHUB_STEP_SUMMARY``), so the job page
shows what was verified, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

from codex_release.checks.index_limits import mib
from codex_release.checks.verify import VerifyReport
from codex_release.core.record import MANIFEST_FILE, SUMS_FILE, checksum_texts
from codex_release.core.staging import check_place, hold, write_text_files
from codex_release.core.versions import CodexVersion
from codex_release.errors import DestinationRefused, FaultFound
from codex_release.file_digests import file_sha256

__all__ = ["append_summary", "summary_markdown", "write_release_record"]


def _targets(report: VerifyReport) -> dict[str, str]:
    return {artifact.file: artifact.target for artifact in report.artifacts if artifact.target}


def write_release_record(dist_dir: Path, report: VerifyReport, *, checkout: Path) -> dict[str, str]:
    """Write ``SHA256SUMS`` and ``manifest.json`` into ``dist_dir`` after ``report`` said OK; return their texts.

    DIST follows the output rules (:mod:`codex_release.core.staging`): inside the checkout (root ``checkout``)
    only an ignored output directory such as ``dist/``. The files are written whole or not at all, under
    DIST's record lock.
    """
    if not report.ok:
        raise FaultFound(f"{dist_dir} did not verify: no SHA256SUMS or manifest.json written")
    dist = check_place(dist_dir, label="DIST_DIR", checkout=checkout, in_checkout="ignored")
    with hold(dist / SUMS_FILE, label="SHA256SUMS"):
        variants = {artifact.file: artifact.variant for artifact in report.artifacts if artifact.variant}
        texts = checksum_texts(dist, _targets(report), variants)
        listed = {entry["file"] for entry in json.loads(texts[MANIFEST_FILE])["artifacts"]}
        verified = {artifact.file for artifact in report.artifacts}
        if listed != verified:
            changed = ", ".join(sorted(listed ^ verified))
            raise FaultFound(f"{dist_dir} changed while it was verified ({changed}): run verify again")
        write_text_files(dist, texts, label="release record")
    return texts


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(report: VerifyReport, version: CodexVersion, dist_dir: Path, sums: str | None = None) -> str:
    """The release as Markdown: one row per file (file, kind, target, size, sha256, status) and ``SHA256SUMS``.

    ``sums`` is the ``SHA256SUMS`` text when it was written; otherwise each file's sha256 is computed here.
    """
    digests: dict[str, str] = {}
    if sums is not None:
        for line in sums.splitlines():
            digest, _, name = line.partition("  ")
            digests[name] = digest
    verdict = "OK" if report.ok else f"FAILED ({report.fault_count} faults)"
    lines = [
        f"## Release {version.pep440} ({version.tag}): verify {verdict}",
        "",
        "| file | kind | target | size | sha256 | status |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for artifact in report.artifacts:
        digest = digests.get(artifact.file, "")
        if not digest:
            try:
                digest = file_sha256(dist_dir / artifact.file)
            except OSError:
                digest = "-"
        status = "ok" if not artifact.faults else "FAIL: " + "; ".join(artifact.faults)
        lines.append(
            f"| `{_cell(artifact.file)}` | {artifact.kind} | {artifact.target or '-'} | {mib(artifact.size)} "
            f"| `{digest}` | {_cell(status)} |"
        )
    lines.append("")
    lines += [f"- FAIL: {_cell(fault)}" for fault in report.faults]
    if report.sizes:
        lines += [report.sizes, ""]
    if report.twine:
        lines += [_cell(report.twine), ""]
    if sums is not None:
        lines += [f"`{SUMS_FILE}`:", "", "```", sums.rstrip("\n"), "```", ""]
    return "\n".join(lines) + "\n"


def append_summary(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (GitHub's ``$GITHUB_STEP_SUMMARY``, which the runner owns: appended to,
    never replaced, as ``--github-output`` files are)."""
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise DestinationRefused(f"cannot append the summary to {path}: {exc.strerror or exc}") from None
