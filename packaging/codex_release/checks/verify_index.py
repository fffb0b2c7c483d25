"""``verify-index``: after publishing, check what the package index actually serves for a release.

``verify`` judges the files before they leave; this judges what users will download. For both
distributions it reads the index's simple page (PEP 691 JSON when the index offers it, else PEP 503
HTML), keeps the files of version V, downloads every one of them and compares:

* the exact set of file names against the release's ``SHA256SUMS`` and ``manifest.json`` in DIST (which
  must agree with each other): a file missing from the index, or one the release never had, is a fault;
* each downloaded file's sha256 against the release's, and against the digest the index itself declares;
* provenance: where the index reports provenance for its files (the ``provenance`` key of PEP 740 in
  the JSON API), every file of the release must have it.

The index's JSON API and its CDN lag behind an upload by seconds to minutes, so
:func:`verify_index_patiently` asks again (:mod:`codex_release.core.polling`, with growing waits) while what
it sees can be lag: a file not listed yet, a 404, a 5xx or 429, a connection error or timeout. What no
wait can fix ends it at once: a file served with another sha256 than the release's, a file the release
does not have, missing provenance, an unreadable release record. A file that once downloaded with the
right sha256 is not downloaded again on a later attempt.

The index is the ``--index-url`` given, else pip's own setting (``PIP_INDEX_URL``, ``pip config``), else
pip's built-in default: the ordinary client's choice, so this module names no index host.
Hand-written on ``urllib`` because no maintained library both lists a project's files across the JSON
and HTML simple APIs and reports provenance; pip's index client is internal.
"""

from __future__ import annotations

import hashlib
import html.parser
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from codex_release.checks.smoke import SmokeReport
from codex_release.core.dist import parse_artifact_name
from codex_release.core.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.polling import Backoff, Outcome, Polled, poll
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound, InputRefused, ReleaseError, ToolFailed

__all__ = [
    "BACKOFF",
    "IndexCheck",
    "IndexFile",
    "IndexLag",
    "default_index_url",
    "list_index_files",
    "release_digests",
    "verify_index",
    "verify_index_patiently",
]

_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
_TIMEOUT_S = 60
_MAX_DOWNLOAD = 1 << 30
"""No file of a release is near 1 GiB; an index that streams more is refused, not read to the end."""
_LAG_STATUS = frozenset({404, 429}) | frozenset(range(500, 600))
"""HTTP answers a CDN gives while it catches up with an upload (or while it sheds load): worth asking again."""
BACKOFF = Backoff(first_s=5.0, factor=2.0, cap_s=60.0, jitter=0.5)
"""Waits of about 5, 10, 20, 40, then 60 s: a few quick looks for the usual seconds of lag, then one a minute."""


class IndexLag(FaultFound):
    """An answer that can be the index or its CDN lagging behind an upload: asking again later may differ."""


@dataclass(frozen=True)
class IndexFile:
    """One file on a project's simple page."""

    filename: str
    url: str
    sha256: str | None
    """The digest the index declares (``None`` when it declares none)."""
    provenance: str | None
    provenance_offered: bool
    """Whether this index reports provenance at all (then ``provenance`` ``None`` means the file has none)."""


def default_index_url() -> str:
    """The simple index pip would use here: ``PIP_INDEX_URL``, ``pip config``, else pip's default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    from codex_release import processes

    try:
        done = processes.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"], timeout=60)
    except ToolFailed:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    try:
        from pip._internal.models.index import PyPI
    except ImportError:  # pragma: no cover - pip is always present in a venv that runs the toolkit
        raise InputRefused("cannot tell which index pip uses: pass --index-url") from None
    return str(PyPI.simple_url)


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def _get(url: str, accept: str | None = None) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            return response.read(_MAX_DOWNLOAD), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise FileNotFoundError(url) from None
        kind = IndexLag if exc.code in _LAG_STATUS else FaultFound
        raise kind(f"the index answered {exc.code} for {url}: check --index-url") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexLag(f"cannot reach the index at {url} ({reason}): check --index-url and the network") from None


def list_index_files(index_url: str, project: str) -> list[IndexFile]:
    """Every file on ``project``'s simple page (empty when the index does not know the project).

    Raises :class:`IndexLag` for an answer that can be lag (5xx, 429, no connection), ``ReleaseError``
    for one that cannot (another 4xx, a page that is not a simple page).
    """
    page_url = f"{index_url.rstrip('/')}/{canonicalize_name(project)}/"
    try:
        body, content_type = _get(page_url, _ACCEPT)
    except FileNotFoundError:
        return []
    if content_type.endswith("+json") or content_type == "application/json":
        try:
            data = json.loads(body)
            entries = data["files"]
        except (ValueError, KeyError, TypeError):
            raise FaultFound(f"{page_url} is not a valid simple-API JSON page") from None
        files = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
                raise FaultFound(f"{page_url} lists a file without a name")
            raw_hashes = entry.get("hashes")
            hashes: dict[str, str] = raw_hashes if isinstance(raw_hashes, dict) else {}
            files.append(
                IndexFile(
                    filename=entry["filename"],
                    url=urllib.parse.urljoin(page_url, str(entry.get("url", ""))),
                    sha256=hashes.get("sha256"),
                    provenance=entry.get("provenance") if isinstance(entry.get("provenance"), str) else None,
                    provenance_offered="provenance" in entry,
                )
            )
        return files
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    files = []
    for link in parser.links:
        href = link.get("href") or ""
        url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        name = urllib.parse.unquote(url.rstrip("/").rsplit("/", 1)[-1])
        digest = fragment.split("=", 1)[1] if fragment.startswith("sha256=") else None
        provenance = link.get("data-provenance")
        files.append(IndexFile(name, url, digest, provenance, provenance_offered="data-provenance" in link))
    return files


def _version_of(filename: str) -> tuple[str, str] | None:
    """(project, version) of a wheel or sdist name; ``None`` for anything else."""
    try:
        parsed = parse_artifact_name(filename)
    except ValueError:
        return None
    return None if parsed is None else (str(parsed.project), str(parsed.version))


def release_digests(dist_dir: Path) -> dict[str, str]:
    """File name -> sha256 of the release in ``dist_dir`` (``SHA256SUMS`` and ``manifest.json`` must agree)."""
    from codex_release.core.record import MANIFEST_FILE, SUMS_FILE

    sums_path, manifest_path = dist_dir / SUMS_FILE, dist_dir / MANIFEST_FILE
    try:
        sums_text = sums_path.read_text(encoding="utf-8")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputRefused(
            f"cannot read the release's {SUMS_FILE} and {MANIFEST_FILE} in {dist_dir} ({exc}): "
            "pass the dist directory `codex-release release` wrote"
        ) from None
    sums: dict[str, str] = {}
    for line in sums_text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise FaultFound(f"{sums_path}: malformed line {line[:80]!r}: rebuild the release")
        sums[name] = digest
    try:
        listed = {str(e["file"]): str(e["sha256"]) for e in manifest["artifacts"]}
    except (KeyError, TypeError):
        raise FaultFound(f"{manifest_path} has no artifacts list: rebuild the release") from None
    if listed != sums:
        raise FaultFound(f"{SUMS_FILE} and {MANIFEST_FILE} in {dist_dir} disagree: rebuild the release")
    return sums


def _download_sha256(url: str) -> str:
    """The sha256 of what the index serves at ``url``, hashed as it streams in (nothing is written).

    A 404, 5xx or 429, a dropped or timed-out connection raise :class:`IndexLag` (a CDN edge that has
    not seen the upload yet); any other failure ``ReleaseError``.
    """
    hasher = hashlib.sha256()
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            total = 0
            while chunk := response.read(1 << 20):
                total += len(chunk)
                if total > _MAX_DOWNLOAD:
                    raise FaultFound(f"{url} is larger than {_MAX_DOWNLOAD >> 20} MiB: not a file of this release")
                hasher.update(chunk)
    except urllib.error.HTTPError as exc:
        kind = IndexLag if exc.code in _LAG_STATUS else FaultFound
        raise kind(f"downloading {url} failed with {exc.code}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise IndexLag(f"downloading {url} failed ({getattr(exc, 'reason', exc)})") from None
    return hasher.hexdigest()


@dataclass
class _Attempt:
    """One look at the index: the table, which FAIL rows can be lag, or the error that stopped the listing."""

    report: SmokeReport = field(default_factory=SmokeReport)
    lagging: dict[str, bool] = field(default_factory=dict)
    """File name -> True when its FAIL can be lag (absent for a row that passed)."""
    error: IndexLag | None = None


@dataclass(frozen=True)
class IndexCheck:
    """How a patient ``verify-index`` ended: the last attempt's table and how long the index was given."""

    report: SmokeReport
    polled: Polled[_Attempt]

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def timed_out(self) -> bool:
        """True when the time ran out while the index still looked like it was catching up."""
        return not self.polled.final

    def attempts_line(self) -> str:
        """The one line after the table: how many attempts over how long, and why it stopped."""
        line = f"verify-index: {self.polled.attempts_line()}"
        if self.ok:
            return f"{line}; the index serves the release as built"
        if self.timed_out:
            waiting = sum(1 for lag in self.polled.value.lagging.values() if lag)
            files = "file" if waiting == 1 else "files"
            return f"{line}; {waiting} {files} still not served as built (pass a longer --timeout to wait more)"
        return (
            f"{line}; stopped without waiting longer: no wait fixes a FAIL row above "
            "(a wrong sha256, a file the release does not have, missing provenance)"
        )


def _look(version: CodexVersion, index: str, expected: Mapping[str, str], digests: dict[str, str]) -> Outcome[_Attempt]:
    """One attempt: list both projects, download what was not yet confirmed, and judge every file.

    ``digests`` carries the sha256 of files already downloaded on an earlier attempt (they are fetched
    once); the declared digest and provenance are judged again from each fresh listing.
    """
    attempt = _Attempt()
    served: dict[str, IndexFile] = {}
    try:
        for project in (RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION):
            for listed in list_index_files(index, project):
                parsed = _version_of(listed.filename)
                if parsed is not None and parsed[1] == version.pep440 and parsed[0] == canonicalize_name(project):
                    served[listed.filename] = listed
    except IndexLag as exc:
        attempt.error = exc
        return Outcome(attempt, final=False, summary=str(exc))
    report = attempt.report
    ours = {name for name in expected if (_version_of(name) or ("", ""))[1] == version.pep440}

    def fail(section: str, name: str, detail: str, *, lag: bool) -> None:
        report.add(section, name, False, detail)
        attempt.lagging[name] = lag

    for name in sorted(ours | set(served)):
        section = "runtime" if name.startswith("openai_codex_cli_bin") else "sdk"
        item = served.get(name)
        if item is None:
            fail(section, name, "in the release, not served by the index", lag=True)
            continue
        if name not in ours:
            fail(section, name, "served by the index, not in the release", lag=False)
            continue
        if name not in digests or (item.sha256 is not None and item.sha256 != digests[name]):
            try:
                digests[name] = _download_sha256(item.url)
            except ReleaseError as exc:
                fail(section, name, str(exc), lag=isinstance(exc, IndexLag))
                continue
        digest = digests[name]
        problems = []
        if digest != expected[name]:
            problems.append(f"sha256 {digest[:16]}... differs from the release's {expected[name][:16]}...")
        if item.sha256 is not None and item.sha256 != digest:
            problems.append("the index's declared sha256 does not match what it served")
        if item.provenance_offered and item.provenance is None:
            problems.append("the index offers provenance, but this file has none")
        if problems:
            fail(section, name, "; ".join(problems), lag=False)
            continue
        provenance = "provenance present" if item.provenance else "provenance not offered by this index"
        report.add(section, name, True, f"sha256 {digest[:16]}... matches; {provenance}")
    if not report.rows:
        report.add("index", index, False, f"no file of {version} in the release or on the index")
        return Outcome(attempt, final=True, summary="the release record has no file of this version")
    total = len(report.rows)
    lag = sorted(name for name, can_wait in attempt.lagging.items() if can_wait)
    fatal = len(attempt.lagging) - len(lag)
    passed = total - len(attempt.lagging)
    if fatal:
        summary = f"{fatal} of {total} files differ from the release in a way waiting cannot fix"
        return Outcome(attempt, final=True, summary=summary)
    if lag:
        first = next(row.detail for row in report.rows if row.check == lag[0])
        more = f" and {len(lag) - 1} more" if len(lag) > 1 else ""
        summary = f"{passed} of {total} files served as built; waiting for {lag[0]} ({first}){more}"
        return Outcome(attempt, final=False, summary=summary)
    return Outcome(attempt, final=True, summary=f"all {total} files served as built")


def verify_index_patiently(
    version: CodexVersion,
    dist_dir: Path,
    *,
    index_url: str | None = None,
    expected: Mapping[str, str] | None = None,
    timeout_s: float = 0.0,
    backoff: Backoff | None = None,
    echo: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> IndexCheck:
    """:func:`verify_index`, asked again with growing waits for up to ``timeout_s`` while it can be lag.

    Right after an upload the index may not list a file yet, or its CDN may answer 404 or 5xx; that
    turns green by itself, so it is retried (one ``echo`` line per attempt). A wrong sha256, a file the
    release does not have or missing provenance will not, so the first attempt that sees one ends it.
    An unreadable release record raises before the index is asked at all; an index that still cannot be
    listed when the time is up raises its one-line error with the attempts appended.
    """
    if expected is None:
        expected = release_digests(dist_dir)
    index = index_url or default_index_url()
    digests: dict[str, str] = {}
    polled = poll(
        lambda: _look(version, index, expected, digests),
        timeout_s=timeout_s,
        backoff=backoff or BACKOFF,
        label="verify-index",
        echo=echo,
        clock=clock,
        sleep=sleep,
    )
    if polled.value.error is not None:
        raise FaultFound(f"{polled.value.error} ({polled.attempts_line()})")
    return IndexCheck(polled.value.report, polled)


def verify_index(
    version: CodexVersion,
    dist_dir: Path,
    *,
    index_url: str | None = None,
    expected: Mapping[str, str] | None = None,
) -> SmokeReport:
    """Download every file of ``version`` of both distributions from the index and compare with the release.

    The release is ``dist_dir``'s ``SHA256SUMS`` and ``manifest.json``, or ``expected`` (file name ->
    sha256) when given (the publish rehearsal passes what it uploaded). One attempt, no waiting: for an
    index that has had time to catch up (see :func:`verify_index_patiently`).
    """
    return verify_index_patiently(version, dist_dir, index_url=index_url, expected=expected, echo=lambda _: None).report
