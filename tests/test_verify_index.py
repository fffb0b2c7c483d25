"""``verify-index``: what a real index on loopback serves, compared with the release as built."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from codex_release.checks.publish_rehearsal import LocalIndex, plan_uploads
from codex_release.checks.smoke import CheckRow
from codex_release.checks.verify_index import list_index_files, release_digests, verify_index
from codex_release.cli import main
from codex_release.errors import ReleaseError
from codex_release.release import write_checksums
from codex_release.targets import TARGETS
from codex_release.versions import CodexVersion


@pytest.fixture
def release(dist_copy: Path) -> Path:
    """A synthetic release with the SHA256SUMS and manifest.json that `release` writes."""
    write_checksums(dist_copy, {})
    return dist_copy


@pytest.fixture
def served(release: Path, pinned_version: CodexVersion) -> Iterator[LocalIndex]:
    """pypiserver on loopback serving the whole release, uploaded in the publishing order."""
    plan = plan_uploads(release, pinned_version)
    with LocalIndex() as index:
        index.upload(plan.runtime)
        index.upload(plan.sdk)
        yield index


def cli(release: Path, version: CodexVersion, index_url: str) -> Result:
    args = ["verify-index", "--codex-version", version.tag, "--dist-dir", str(release), "--index-url", index_url]
    return CliRunner().invoke(main, args)


def results(report_rows: Sequence[CheckRow]) -> dict[str, tuple[bool | None, str]]:
    return {row.check: (row.ok, row.detail) for row in report_rows}


def test_the_published_release_passes_file_by_file(
    served: LocalIndex, release: Path, pinned_version: CodexVersion
) -> None:
    report = verify_index(pinned_version, release, index_url=served.simple_url)
    rows = results(report.rows)
    assert set(rows) == set(release_digests(release))  # the exact set: 6 runtime wheels, SDK wheel and sdist
    assert len(rows) == sum(len(t.expected_wheels) for t in TARGETS) + 2  # runtime wheels, SDK wheel and sdist
    assert all(ok for ok, _ in rows.values()), report.table()
    assert all("matches; provenance not offered by this index" in detail for _, detail in rows.values())
    result = cli(release, pinned_version, served.simple_url)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"verify-index: {len(rows)} passed, 0 failed, 0 skipped"


def test_a_tampered_missing_or_extra_file_fails(
    served: LocalIndex, release: Path, pinned_version: CodexVersion
) -> None:
    wheels = sorted(served.packages.glob("openai_codex_cli_bin-*.whl"))
    tampered, missing = wheels[0], wheels[1]
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    missing.unlink()
    extra = served.packages / f"openai_codex_cli_bin-{pinned_version}-py3-none-linux_riscv64.whl"
    shutil.copyfile(wheels[2], extra)
    rows = results(verify_index(pinned_version, release, index_url=served.simple_url).rows)
    assert rows[tampered.name][0] is False
    assert "differs from the release's" in rows[tampered.name][1]
    assert rows[missing.name] == (False, "in the release, not served by the index")
    assert rows[extra.name] == (False, "served by the index, not in the release")
    assert sum(1 for ok, _ in rows.values() if ok) == len(release_digests(release)) - 2
    result = cli(release, pinned_version, served.simple_url)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: the index does not serve release {pinned_version} as built: see the FAIL rows above"
    )


def test_the_release_record_must_be_whole_and_consistent(release: Path, pinned_version: CodexVersion) -> None:
    sums = release / "SHA256SUMS"
    sums.write_text(sums.read_text().replace("0", "1", 1))
    with pytest.raises(ReleaseError, match=r"SHA256SUMS and manifest\.json in .* disagree: rebuild the release"):
        release_digests(release)
    sums.unlink()
    with pytest.raises(ReleaseError, match=r"cannot read the release's SHA256SUMS and manifest\.json"):
        verify_index(pinned_version, release, index_url="http://127.0.0.1:9/simple/")


def test_an_unreachable_index_is_one_line(release: Path, pinned_version: CodexVersion) -> None:
    result = cli(release, pinned_version, "http://127.0.0.1:9/simple/")
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    assert "cannot reach the index at http://127.0.0.1:9/simple/" in result.output


# ------------------------------------------------------------------ the JSON API and provenance
class _JsonIndex(http.server.BaseHTTPRequestHandler):
    """A PEP 691 JSON simple index with PEP 740 provenance keys, serving files from ``self.server.root``."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        root: Path = self.server.root  # type: ignore[attr-defined]
        provenance: dict[str, str | None] = self.server.provenance  # type: ignore[attr-defined]
        if self.path.startswith("/files/"):
            body = (root / self.path.removeprefix("/files/")).read_bytes()
            content_type = "application/octet-stream"
        else:
            project = self.path.strip("/").split("/")[-1]
            prefix = project.replace("-", "_") + "-"
            files = [
                {
                    "filename": p.name,
                    "url": f"/files/{p.name}",
                    "hashes": {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()},
                    "provenance": provenance.get(p.name),
                }
                for p in sorted(root.iterdir())
                if p.name.startswith(prefix)
            ]
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": files}).encode()
            content_type = "application/vnd.pypi.simple.v1+json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def json_index(release: Path) -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JsonIndex)
    server.root = release  # type: ignore[attr-defined]
    server.provenance = {  # type: ignore[attr-defined]
        name: f"/files/{name}.provenance" for name in release_digests(release)
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_json_api_with_provenance_for_every_file_passes_and_a_missing_one_fails(
    json_index: http.server.ThreadingHTTPServer, release: Path, pinned_version: CodexVersion
) -> None:
    url = f"http://127.0.0.1:{json_index.server_address[1]}/simple/"
    files = list_index_files(url, "openai-codex")
    assert {f.filename for f in files} == {p.name for p in release.glob("openai_codex-*")}
    assert all(f.provenance_offered and f.sha256 for f in files)
    report = verify_index(pinned_version, release, index_url=url)
    assert report.ok, report.table()
    assert all(row.detail.endswith("provenance present") for row in report.rows)
    sdk_wheel = next(release.glob("openai_codex-*.whl")).name
    json_index.provenance[sdk_wheel] = None  # type: ignore[attr-defined]
    rows = results(verify_index(pinned_version, release, index_url=url).rows)
    assert rows[sdk_wheel] == (False, "the index offers provenance, but this file has none")
