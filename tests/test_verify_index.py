"""``verify-index``: what a real index on loopback serves, compared with the release as built."""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import codex_release.checks.verify_index as verify_index_module
from codex_release.checks.publish_rehearsal import LocalIndex, plan_uploads
from codex_release.checks.smoke import CheckRow
from codex_release.checks.verify_index import list_index_files, release_digests, verify_index
from codex_release.cli import main
from codex_release.core.polling import Backoff
from codex_release.core.record import write_checksums
from codex_release.core.targets import TARGETS
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound, InputRefused


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


def cli(release: Path, version: CodexVersion, index_url: str, *extra: str) -> Result:
    args = ["verify-index", "--codex-version", version.tag, "--dist-dir", str(release), "--index-url", index_url]
    return CliRunner().invoke(main, [*args, *extra])


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
    with pytest.raises(FaultFound, match=r"manifest\.json in .* disagree"):
        release_digests(release)
    sums.unlink()
    with pytest.raises(InputRefused, match=r"cannot read the release's SHA256SUMS and manifest\.json"):
        verify_index(pinned_version, release, index_url="http://127.0.0.1:9/simple/")


def test_an_unreachable_index_is_one_line(release: Path, pinned_version: CodexVersion) -> None:
    result = cli(release, pinned_version, "http://127.0.0.1:9/simple/", "--timeout", "0")
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    assert "cannot reach the index at http://127.0.0.1:9/simple/" in result.output
    assert result.output.rstrip().endswith("(waited 0 s over 1 attempt)")


# ------------------------------------------------------------------ the JSON API and provenance
class _JsonIndex(http.server.BaseHTTPRequestHandler):
    """A PEP 691 JSON simple index with PEP 740 provenance keys, serving files from ``self.server.root``."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def lag_status(self) -> int | None:
        """An error status to answer instead of the page or file (none: this index is never behind)."""
        return None

    def lists(self, filename: str) -> bool:
        """Whether the project page lists ``filename`` (all of them: this index is never behind)."""
        return True

    def do_GET(self) -> None:
        root: Path = self.server.root  # type: ignore[attr-defined]
        provenance: dict[str, str | None] = self.server.provenance  # type: ignore[attr-defined]
        status = self.lag_status()
        if status is not None:
            self.send_error(status)
            return
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
                if p.name.startswith(prefix) and self.lists(p.name)
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


# ------------------------------------------------------------------ index lag: retries and what is never retried
class _CatchingUpIndex(_JsonIndex):
    """:class:`_JsonIndex` behind a CDN that has not caught up with the upload yet.

    Every request is recorded in ``server.requests``. On the n-th look (n: how often the runtime page, the
    first one asked, has been requested) a page answers 503 while n < ``server.error_until``, lists no
    file while n < ``server.listed_from``, and never lists the files in ``server.never``.
    """

    def lag_status(self) -> int | None:
        with self.server.lock:  # type: ignore[attr-defined]
            requests: list[str] = self.server.requests  # type: ignore[attr-defined]
            requests.append(self.path)
            self.look = sum(1 for p in requests if p.endswith("/openai-codex-cli-bin/"))
        if self.path.startswith("/files/"):
            return None
        error_until: int = self.server.error_until  # type: ignore[attr-defined]
        return 503 if self.look < error_until else None

    def lists(self, filename: str) -> bool:
        listed_from: int = self.server.listed_from  # type: ignore[attr-defined]
        never: set[str] = self.server.never  # type: ignore[attr-defined]
        return self.look >= listed_from and filename not in never


@pytest.fixture
def catching_up(release: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[http.server.ThreadingHTTPServer]:
    """A catching-up index serving ``release`` (by default fully caught up), with test-sized waits."""
    monkeypatch.setattr(verify_index_module, "BACKOFF", Backoff(first_s=0.02, cap_s=0.1))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CatchingUpIndex)
    server.root = release  # type: ignore[attr-defined]
    server.provenance = {name: f"/files/{name}.provenance" for name in release_digests(release)}  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.error_until = 0  # type: ignore[attr-defined]
    server.listed_from = 0  # type: ignore[attr-defined]
    server.never = set()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/simple/"


def _pages(server: http.server.ThreadingHTTPServer) -> list[str]:
    return [p for p in server.requests if not p.startswith("/files/")]  # type: ignore[attr-defined]


def test_files_listed_only_from_the_third_request_pass_printing_the_attempts(
    catching_up: http.server.ThreadingHTTPServer, release: Path, pinned_version: CodexVersion
) -> None:
    catching_up.error_until = 2  # type: ignore[attr-defined]  # 1st page request: 503
    catching_up.listed_from = 3  # type: ignore[attr-defined]  # 2nd: listed, but without the files
    started = time.monotonic()
    result = cli(release, pinned_version, _url(catching_up), "--timeout", "30")
    assert time.monotonic() - started < 5
    assert result.exit_code == 0, result.output
    attempts = result.stderr.splitlines()
    assert len(attempts) == 3, result.stderr
    files = len(release_digests(release))
    assert re.fullmatch(
        r"verify-index: attempt 1 \(\d+ s\): the index answered 503 for \S+: check --index-url; "
        r"next attempt in \d+ s",
        attempts[0],
    )
    assert re.fullmatch(
        rf"verify-index: attempt 2 \(\d+ s\): 0 of {files} files served as built; waiting for \S+ "
        rf"\(in the release, not served by the index\) and {files - 1} more; next attempt in \d+ s",
        attempts[1],
    )
    assert re.fullmatch(rf"verify-index: attempt 3 \(\d+ s\): all {files} files served as built", attempts[2])
    out = result.stdout.splitlines()
    assert out[-2] == f"verify-index: {files} passed, 0 failed, 0 skipped"
    assert re.fullmatch(r"verify-index: waited \d+ s over 3 attempts; the index serves the release as built", out[-1])
    # each file downloaded once, though the pages were asked for three times
    downloads = [p for p in catching_up.requests if p.startswith("/files/")]  # type: ignore[attr-defined]
    assert sorted(downloads) == sorted(f"/files/{name}" for name in release_digests(release))
    assert len(_pages(catching_up)) == 5  # the 503 on the runtime page ended the first look


def test_a_file_never_listed_fails_after_the_timeout_with_the_table_and_the_attempts(
    catching_up: http.server.ThreadingHTTPServer, release: Path, pinned_version: CodexVersion
) -> None:
    sdk_wheel = next(release.glob("openai_codex-*.whl")).name
    catching_up.never = {sdk_wheel}  # type: ignore[attr-defined]
    started = time.monotonic()
    result = cli(release, pinned_version, _url(catching_up), "--timeout", "0.5")
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 5
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a traceback
    assert "Traceback" not in result.output
    attempts = len(_pages(catching_up)) // 2
    assert attempts >= 2  # waits of at most 0.1 s over 0.5 s
    progress = result.stderr.splitlines()[:-1]
    assert len(progress) == attempts
    assert all(f"waiting for {sdk_wheel} (in the release, not served by the index)" in line for line in progress)
    out = result.stdout.splitlines()
    files = len(release_digests(release))
    assert f"sdk      {sdk_wheel}" in result.stdout
    assert out[-2] == f"verify-index: {files - 1} passed, 1 failed, 0 skipped"
    assert re.fullmatch(
        rf"verify-index: waited \d+ s over {attempts} attempts; 1 file still not served as built "
        r"\(pass a longer --timeout to wait more\)",
        out[-1],
    )
    assert result.stderr.splitlines()[-1] == (
        f"Error: the index does not serve release {pinned_version} as built: see the FAIL rows above"
    )


@pytest.mark.parametrize("fault", ["sha256 mismatch", "extra file"])
def test_what_cannot_be_lag_fails_at_once(
    catching_up: http.server.ThreadingHTTPServer, release: Path, pinned_version: CodexVersion, fault: str
) -> None:
    wheels = sorted(release.glob("openai_codex_cli_bin-*.whl"))
    served = Path(shutil.copytree(release, release.parent / "served"))
    catching_up.root = served  # type: ignore[attr-defined]
    if fault == "sha256 mismatch":
        tampered = served / wheels[0].name
        tampered.write_bytes(tampered.read_bytes() + b"\0")
        expected_detail = "differs from the release's"
        name = wheels[0].name
    else:
        name = f"openai_codex_cli_bin-{pinned_version}-py3-none-linux_riscv64.whl"
        shutil.copyfile(wheels[0], served / name)
        expected_detail = "served by the index, not in the release"
    # one file is also still missing: that alone would be waited for, the fault is not
    catching_up.never = {wheels[1].name}  # type: ignore[attr-defined]
    started = time.monotonic()
    result = cli(release, pinned_version, _url(catching_up))  # the default --timeout: minutes
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert len(_pages(catching_up)) == 2  # the first attempt: one page per project, and no second look
    assert result.stderr.splitlines() == [
        f"Error: the index does not serve release {pinned_version} as built: see the FAIL rows above"
    ]
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("runtime")}
    assert expected_detail in rows[name]
    assert "FAIL" in rows[wheels[1].name]
    assert re.fullmatch(
        r"verify-index: waited \d+ s over 1 attempt; stopped without waiting longer: no wait fixes a FAIL row "
        r"above \(a wrong sha256, a file the release does not have, missing provenance\)",
        result.stdout.splitlines()[-1],
    )


def test_timeout_0_is_one_attempt(
    catching_up: http.server.ThreadingHTTPServer, release: Path, pinned_version: CodexVersion
) -> None:
    catching_up.listed_from = 2  # type: ignore[attr-defined]  # the second look would pass
    result = cli(release, pinned_version, _url(catching_up), "--timeout", "0")
    assert result.exit_code == 1
    assert len(_pages(catching_up)) == 2
    assert not [p for p in catching_up.requests if p.startswith("/files/")]  # type: ignore[attr-defined]
    assert result.stderr.splitlines() == [
        f"Error: the index does not serve release {pinned_version} as built: see the FAIL rows above"
    ]
    files = len(release_digests(release))
    assert result.stdout.splitlines()[-1] == (
        f"verify-index: waited 0 s over 1 attempt; {files} files still not served as built "
        "(pass a longer --timeout to wait more)"
    )


def test_an_index_that_stays_unreachable_is_one_error_line_with_the_attempts(
    release: Path, pinned_version: CodexVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_index_module, "BACKOFF", Backoff(first_s=0.02, cap_s=0.1))
    result = cli(release, pinned_version, "http://127.0.0.1:9/simple/", "--timeout", "0.3")
    assert result.exit_code == 1
    *progress, error = result.stderr.splitlines()
    assert len(progress) >= 2
    assert all("cannot reach the index at http://127.0.0.1:9/simple/" in line for line in progress)
    assert error.startswith("Error: cannot reach the index at http://127.0.0.1:9/simple/")
    assert error.endswith(f"over {len(progress)} attempts)")
    assert result.stdout == ""
