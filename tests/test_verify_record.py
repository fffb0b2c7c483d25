"""verify's sizes against the index's upload limits, ``--write-checksums`` (the release record) and
``--summary`` (the job summary), on the synthetic release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.checks.index_limits import (
    DEFAULT_FILE_LIMIT,
    DEFAULT_TOTAL_LIMIT,
    INDEX_FILE_LIMIT,
    SizeLimits,
    parse_limit,
)
from codex_release.checks.verify import verify_dist
from codex_release.cli import main
from codex_release.core.dist import target_of_platform_tags
from codex_release.core.record import MANIFEST_FILE, SUMS_FILE, write_checksums
from codex_release.core.targets import TARGETS
from codex_release.core.versions import CodexVersion
from codex_release.errors import DestinationRefused, InputRefused
from codex_release.file_digests import file_sha256
from tests.checkout import CHECKOUT

_LIMIT = {"option": "--max-file-size", "project": INDEX_FILE_LIMIT, "default": DEFAULT_FILE_LIMIT}


@pytest.fixture
def bare_dist(dist_copy: Path) -> Path:
    """The synthetic release without its record (as CI's verify job receives it: artifacts only)."""
    for name in (SUMS_FILE, MANIFEST_FILE):
        (dist_copy / name).unlink(missing_ok=True)
    return dist_copy


def _verify(dist: Path, version: CodexVersion, *args: str) -> object:
    return CliRunner().invoke(main, ["verify", str(dist), "--codex-version", str(version), "--require-sdk", *args])


# --- sizes -------------------------------------------------------------------------------------------------


def test_limits_parse_sizes_keywords_and_refuse_nonsense() -> None:
    assert parse_limit("default", **_LIMIT) == 100 * 2**20
    assert parse_limit("project", **_LIMIT) == INDEX_FILE_LIMIT
    assert parse_limit("100MiB", **_LIMIT) == parse_limit("100M", **_LIMIT) == 100 * 2**20
    assert parse_limit("100MB", **_LIMIT) == 100_000_000
    assert parse_limit("1.5GB", **_LIMIT) == 1_500_000_000
    assert parse_limit("1234", **_LIMIT) == 1234
    for bad in ("", "lots", "-5M", "0", "10 parsecs"):
        with pytest.raises(InputRefused, match=r"--max-file-size .* is not a size"):
            parse_limit(bad, **_LIMIT)
    assert INDEX_FILE_LIMIT > DEFAULT_FILE_LIMIT


def test_limits_come_from_options_then_the_environment_then_the_index_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CODEX_RELEASE_MAX_FILE_SIZE", raising=False)
    monkeypatch.delenv("CODEX_RELEASE_MAX_TOTAL_SIZE", raising=False)
    assert SizeLimits.resolve() == SizeLimits(DEFAULT_FILE_LIMIT, DEFAULT_TOTAL_LIMIT)
    monkeypatch.setenv("CODEX_RELEASE_MAX_FILE_SIZE", "project")
    monkeypatch.setenv("CODEX_RELEASE_MAX_TOTAL_SIZE", "20GiB")
    assert SizeLimits.resolve() == SizeLimits(INDEX_FILE_LIMIT, 20 * 2**30)
    assert SizeLimits.resolve("1MB", "default") == SizeLimits(1_000_000, DEFAULT_TOTAL_LIMIT)
    monkeypatch.setenv("CODEX_RELEASE_MAX_FILE_SIZE", "huge")
    with pytest.raises(InputRefused, match="CODEX_RELEASE_MAX_FILE_SIZE 'huge' is not a size"):
        SizeLimits.resolve()


def test_a_file_above_the_per_file_limit_and_a_release_above_the_total_are_faults(
    synthetic_dist: Path, pinned_version: CodexVersion
) -> None:
    sizes = {p.name: p.stat().st_size for p in synthetic_dist.iterdir() if p.suffix in (".whl", ".gz")}
    largest = max(sizes, key=lambda name: sizes[name])
    report = verify_dist(synthetic_dist, pinned_version, limits=SizeLimits(sizes[largest] - 1, 1))
    (over,) = [a for a in report.artifacts if a.faults]
    assert over.file == largest
    assert "is above the index's per-file upload limit" in over.faults[0]
    assert "pass --max-file-size project" in over.faults[0]
    assert any("above the project limit" in fault for fault in report.faults)
    assert not report.ok
    table = report.table()
    assert f"sizes: largest {sizes[largest] / 2**20:.1f} MiB ({largest})" in table
    assert verify_dist(synthetic_dist, pinned_version, limits=SizeLimits(sizes[largest])).ok  # the limit is inclusive


def test_cli_max_file_size(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    small = _verify(synthetic_dist, pinned_version, "--max-file-size", "1KB")
    assert small.exit_code == 1  # type: ignore[attr-defined]
    assert "per-file upload limit of 0.0 MiB" in small.output  # type: ignore[attr-defined]
    ok = _verify(synthetic_dist, pinned_version, "--max-file-size", "project")
    assert ok.exit_code == 0, ok.output  # type: ignore[attr-defined]
    assert f"of the per-file limit {INDEX_FILE_LIMIT / 2**20:.1f} MiB" in ok.output  # type: ignore[attr-defined]
    bad = _verify(synthetic_dist, pinned_version, "--max-file-size", "big")
    assert bad.exit_code == 1  # type: ignore[attr-defined]
    assert "--max-file-size 'big' is not a size" in bad.output  # type: ignore[attr-defined]


# --- the release record and the job summary ----------------------------------------------------------------


def test_write_checksums_writes_the_record_release_writes(
    bare_dist: Path, pinned_version: CodexVersion, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    done = _verify(bare_dist, pinned_version, "--write-checksums", "--summary", str(summary))
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    manifest = json.loads((bare_dist / MANIFEST_FILE).read_text(encoding="utf-8"))["artifacts"]
    sums = (bare_dist / SUMS_FILE).read_text(encoding="utf-8")
    for entry in manifest:
        path = bare_dist / entry["file"]
        assert entry["sha256"] == file_sha256(path)
        assert f"{entry['sha256']}  {entry['file']}\n" in sums
        if entry["file"].startswith("openai_codex_cli_bin-"):
            platforms = {tag.split("-")[-1] for tag in entry["tags"]}
            expected = target_of_platform_tags(platforms)
            assert expected is not None
            assert entry["target"] == expected.triple
        else:
            assert entry["target"] is None
    assert len(manifest) == sum(len(t.expected_wheels) for t in TARGETS) + 2
    runtime_variants = [e["variant"] for e in manifest if e["file"].startswith("openai_codex_cli_bin-")]
    assert sorted(runtime_variants) == sorted(name for t in TARGETS for name, _ in t.expected_wheels)
    # byte for byte what `release` writes for the same files and targets
    reference = tmp_path / "reference"
    reference.mkdir()
    for entry in manifest:
        (reference / entry["file"]).hardlink_to(bare_dist / entry["file"])
    write_checksums(
        reference,
        {e["file"]: e["target"] for e in manifest if e["target"]},
        {e["file"]: e["variant"] for e in manifest if e["variant"]},
    )
    for name in (SUMS_FILE, MANIFEST_FILE):
        assert (reference / name).read_bytes() == (bare_dist / name).read_bytes()
    assert not [p.name for p in bare_dist.iterdir() if p.name.startswith(".")]  # no lock, no partial file
    # the summary was appended: the table with sha256s and the SHA256SUMS text
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## Release ")
    assert "verify OK" in text
    assert "| file | kind | target | size | sha256 | status |" in text
    for entry in manifest:
        assert f"| `{entry['file']}` |" in text
        assert f"`{entry['sha256']}`" in text
    assert sums in text


def test_a_failed_verify_writes_no_record_but_still_summarises(
    bare_dist: Path, pinned_version: CodexVersion, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    done = _verify(bare_dist, pinned_version, "--write-checksums", "--summary", str(summary), "--max-file-size", "1K")
    assert done.exit_code == 1  # type: ignore[attr-defined]
    assert not (bare_dist / SUMS_FILE).exists()
    assert not (bare_dist / MANIFEST_FILE).exists()
    text = summary.read_text(encoding="utf-8")
    assert "verify FAILED" in text
    assert "FAIL: " in text
    assert "SHA256SUMS" not in text


def test_write_checksums_refuses_a_tracked_directory_of_the_checkout(pinned_version: CodexVersion) -> None:
    from codex_release.checks.release_record import write_release_record
    from codex_release.checks.verify import ArtifactReport, VerifyReport

    report = VerifyReport([ArtifactReport("x.whl", "runtime wheel")], [])
    docs = Path(__file__).resolve().parent.parent / "docs"
    with pytest.raises(DestinationRefused, match="not a git-ignored output directory"):
        write_release_record(docs, report, checkout=CHECKOUT.root)
