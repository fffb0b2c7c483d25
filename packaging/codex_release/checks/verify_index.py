"""``verify-index``: after publishing, check what the package index actually serves for a release.

``verify`` judges the files before they leave; this judges what users will download. For both
distributions it reads the index's simple page (PEP 691 JSON when the index offers it, else PEP 503
HTML), keeps the files of version V, downloads every one of them and compares:

* the exact set of file names against the release's ``SHA256SUMS`` and ``manifest.json`` in DIST (which
  must agree with each other): a file missing from the index, or one the release never had, is a fault;
* each downloaded file's sha256 against the release's, and against the digest the index itself declares;
* provenance: where the index reports provenance for its files (the ``provenance`` key of PEP 740 in
  the JSON API), every file of the release must have it.

The index is the ``--index-url`` given, else pip's own setting (``PIP_INDEX_URL``, ``pip config``), else
pip's built-in default: the ordinary client's choice, so this module names no index host.
Hand-written on ``urllib`` because no maintained library both lists a project's files across the JSON
and HTML simple APIs and reports provenance; pip's index client is internal.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from codex_release.checks.smoke import SmokeReport
from codex_release.dist_folder import parse_artifact_name
from codex_release.errors import ReleaseError
from codex_release.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.versions import CodexVersion

__all__ = ["IndexFile", "default_index_url", "list_index_files", "release_digests", "verify_index"]

_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
_TIMEOUT_S = 60
_MAX_DOWNLOAD = 1 << 30
"""No file of a release is near 1 GiB; an index that streams more is refused, not read to the end."""


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
    except ReleaseError:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    try:
        from pip._internal.models.index import PyPI
    except ImportError:  # pragma: no cover - pip is always present in a venv that runs the toolkit
        raise ReleaseError("cannot tell which index pip uses: pass --index-url") from None
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
        raise ReleaseError(f"the index answered {exc.code} for {url}: check --index-url") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReleaseError(f"cannot reach the index at {url} ({reason}): check --index-url and the network") from None


def list_index_files(index_url: str, project: str) -> list[IndexFile]:
    """Every file on ``project``'s simple page (empty when the index does not know the project)."""
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
            raise ReleaseError(f"{page_url} is not a valid simple-API JSON page") from None
        files = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
                raise ReleaseError(f"{page_url} lists a file without a name")
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
    from codex_release.release import MANIFEST_FILE, SUMS_FILE

    sums_path, manifest_path = dist_dir / SUMS_FILE, dist_dir / MANIFEST_FILE
    try:
        sums_text = sums_path.read_text(encoding="utf-8")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReleaseError(
            f"cannot read the release's {SUMS_FILE} and {MANIFEST_FILE} in {dist_dir} ({exc}): "
            "pass the dist directory `codex-release release` wrote"
        ) from None
    sums: dict[str, str] = {}
    for line in sums_text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise ReleaseError(f"{sums_path}: malformed line {line[:80]!r}: rebuild the release")
        sums[name] = digest
    try:
        listed = {str(e["file"]): str(e["sha256"]) for e in manifest["artifacts"]}
    except (KeyError, TypeError):
        raise ReleaseError(f"{manifest_path} has no artifacts list: rebuild the release") from None
    if listed != sums:
        raise ReleaseError(f"{SUMS_FILE} and {MANIFEST_FILE} in {dist_dir} disagree: rebuild the release")
    return sums


def _download_sha256(url: str) -> str:
    """The sha256 of what the index serves at ``url``, hashed as it streams in (nothing is written)."""
    hasher = hashlib.sha256()
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            total = 0
            while chunk := response.read(1 << 20):
                total += len(chunk)
                if total > _MAX_DOWNLOAD:
                    raise ReleaseError(f"{url} is larger than {_MAX_DOWNLOAD >> 20} MiB: not a file of this release")
                hasher.update(chunk)
    except urllib.error.HTTPError as exc:
        raise ReleaseError(f"downloading {url} failed with {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReleaseError(f"downloading {url} failed ({getattr(exc, 'reason', exc)})") from None
    return hasher.hexdigest()


def verify_index(
    version: CodexVersion,
    dist_dir: Path,
    *,
    index_url: str | None = None,
    expected: Mapping[str, str] | None = None,
) -> SmokeReport:
    """Download every file of ``version`` of both distributions from the index and compare with the release.

    The release is ``dist_dir``'s ``SHA256SUMS`` and ``manifest.json``, or ``expected`` (file name ->
    sha256) when given (the publish rehearsal passes what it uploaded).
    """
    if expected is None:
        expected = release_digests(dist_dir)
    index = index_url or default_index_url()
    report = SmokeReport()
    served: dict[str, IndexFile] = {}
    for project in (RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION):
        for listed in list_index_files(index, project):
            parsed = _version_of(listed.filename)
            if parsed is not None and parsed[1] == version.pep440 and parsed[0] == canonicalize_name(project):
                served[listed.filename] = listed
    ours = {name for name in expected if (_version_of(name) or ("", ""))[1] == version.pep440}
    for name in sorted(ours | set(served)):
        section = "runtime" if name.startswith("openai_codex_cli_bin") else "sdk"
        item = served.get(name)
        if item is None:
            report.add(section, name, False, "in the release, not served by the index")
            continue
        if name not in ours:
            report.add(section, name, False, "served by the index, not in the release")
            continue
        try:
            digest = _download_sha256(item.url)
        except ReleaseError as exc:
            report.add(section, name, False, str(exc))
            continue
        problems = []
        if digest != expected[name]:
            problems.append(f"sha256 {digest[:16]}... differs from the release's {expected[name][:16]}...")
        if item.sha256 is not None and item.sha256 != digest:
            problems.append("the index's declared sha256 does not match what it served")
        if item.provenance_offered and item.provenance is None:
            problems.append("the index offers provenance, but this file has none")
        provenance = "provenance present" if item.provenance else "provenance not offered by this index"
        detail = "; ".join(problems) if problems else f"sha256 {digest[:16]}... matches; {provenance}"
        report.add(section, name, not problems, detail)
    if not report.rows:
        report.add("index", index, False, f"no file of {version} in the release or on the index")
    return report
