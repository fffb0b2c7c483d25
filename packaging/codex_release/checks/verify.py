"""``verify``: the release's artifacts are exactly the expected set, each one sound and safe to install.

``verify: OK`` is a security gate, not only a consistency check. Per wheel (read once through
:class:`codex_release.archives.WheelArchive`, which already refuses unsafe, duplicate or case-colliding
names, symlinks and other non-regular members, encrypted or overlapping members, CRC-32 mismatches and
archives above the size caps):

* an allow-list: the runtime wheel holds only ``codex_cli_bin/`` and its ``.dist-info/``, the SDK wheel
  only ``openai_codex/`` and its ``.dist-info/``; a ``.pth`` file, a ``.data/`` directory (scripts or
  files installed outside site-packages) or any other top-level name is a fault;
* RECORD complete and true: every file listed once with its sha256 and size, no row without a file;
* binaries, recognised by the one magic table of :mod:`codex_release.binaries`, are inspected from
  memory (nothing is written to a path taken from a member name): executable bits set, and for the
  runtime the platform tags equal to what the binaries earn;
* the runtime wheel's SBOM (PEP 770): exactly one file in ``.dist-info/sboms/``, a CycloneDX document of
  this wheel that lists every payload file (everything outside ``.dist-info/``) with its true sha256 and
  nothing else (:func:`codex_release.sbom.check_sbom`);
* WHEEL (``Root-Is-Purelib``, tag lines equal to the filename's), METADATA name and version, the bundled
  ``codex-package.json`` at the release version, and the SDK's requirement on the runtime exactly
  ``openai-codex-cli-bin==V`` (no marker, no extra, no URL), in the wheel and the sdist.

Sizes: every file against the index's per-file upload limit and the release's total against the
project limit (:mod:`codex_release.checks.index_limits`): a file the index would refuse fails here, before
publishing starts.

For the set: per target exactly the wheels its binaries call for (one, or full + lean where an optional
``codex-path/`` helper narrows the tags: :func:`codex_release.variants.variant_faults`), no runtime
sdist, nothing at another version, no stray distribution, and entries named like artifacts that are not
regular files (a FIFO ``x.whl``) reported without being opened (:mod:`codex_release.dist_folder`).
``twine check --strict`` on all.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from codex_release import processes
from codex_release.archives import WheelArchive
from codex_release.artifact_metadata import parse_metadata, runtime_pins, sdist_metadata
from codex_release.binaries import BinaryInfo, format_of, inspect_bytes, needs_exec_bit
from codex_release.checks.index_limits import SizeLimits
from codex_release.dist_folder import DistFile, list_dist
from codex_release.errors import ReleaseError
from codex_release.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.platform_tags import derive_platform_tags, tag_problem
from codex_release.sbom import SBOM_DIR, check_sbom
from codex_release.targets import TARGETS, Target, get_target
from codex_release.variants import HELPERS_FILE, WheelFacts, variant_faults
from codex_release.versions import CodexVersion, parse_codex_version

__all__ = ["ArtifactReport", "VerifyReport", "verify_dist"]

_PACKAGES = {RUNTIME_DISTRIBUTION: "codex_cli_bin", SDK_DISTRIBUTION: "openai_codex"}
_MANIFEST = "codex_cli_bin/vendor/codex-package.json"
_HELPERS = f"codex_cli_bin/{HELPERS_FILE}"


@dataclass
class ArtifactReport:
    """One file of the dist directory and what is wrong with it."""

    file: str
    kind: str
    target: str = ""
    tags: str = ""
    size: int = 0
    faults: list[str] = field(default_factory=list)
    variant: str = ""
    """For a runtime wheel: ``full`` or ``lean``, as its ``bundled-helpers.json`` says."""


@dataclass
class VerifyReport:
    artifacts: list[ArtifactReport]
    faults: list[str]
    """Faults of the set as a whole (missing or duplicate targets, stray files)."""
    sizes: str = ""
    """The sizes against the index's upload limits (:meth:`SizeLimits.summary`)."""

    @property
    def fault_count(self) -> int:
        """Every fault: of the set and of each artifact."""
        return len(self.faults) + sum(len(a.faults) for a in self.artifacts)

    @property
    def ok(self) -> bool:
        return self.fault_count == 0

    def table(self) -> str:
        rows = [("file", "kind", "target", "size", "status")]
        for a in self.artifacts:
            status = "ok" if not a.faults else "FAIL: " + "; ".join(a.faults)
            rows.append((a.file, a.kind, a.target or "-", f"{a.size / 1e6:.1f} MB", status))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(widths[i]) if i < 4 else c for i, c in enumerate(r)) for r in rows]
        lines += [f"FAIL: {fault}" for fault in self.faults]
        if self.sizes:
            lines.append(self.sizes)
        lines.append("verify: OK" if self.ok else f"verify: FAILED ({self.fault_count} faults)")
        return "\n".join(lines)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class _Scan:
    """What one pass over a wheel found besides faults."""

    metadata: Message | None = None
    wheel: Message | None = None
    manifest: dict[str, object] | None = None
    helpers: dict[str, object] | None = None
    binaries: list[BinaryInfo] = field(default_factory=list)
    payload: dict[str, str] = field(default_factory=dict)
    """Every file outside ``.dist-info/`` -> its sha256 (hex): what the runtime wheel's SBOM must list."""
    sboms: dict[str, bytes] = field(default_factory=dict)
    """The PEP 770 SBOMs: every file under ``.dist-info/sboms/``."""


def _layout_fault(name: str, package: str, dist_info: str, project: str) -> str | None:
    parts = PurePosixPath(name).parts
    if name.endswith(".pth"):
        return f"{name} is a .pth file (it runs code at every interpreter start): a wheel must not ship one"
    if parts[0].endswith(".data"):
        return f"{name} is under a .data/ directory (installed outside site-packages): not allowed"
    if parts[0] not in (package, dist_info):
        return f"{name} lies outside {package}/ and {dist_info}/: a wheel of {project} may hold nothing else"
    return None


def _record_rows(data: bytes | bytearray, where: str) -> dict[str, list[str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReleaseError(f"{where} is not UTF-8: rebuild the wheel") from None
    rows: dict[str, list[str]] = {}
    try:
        for row in csv.reader(io.StringIO(text)):
            if not row:
                continue
            if row[0] in rows:
                raise ReleaseError(f"{where} lists {row[0]!r} twice: rebuild the wheel")
            rows[row[0]] = row
    except csv.Error as exc:
        raise ReleaseError(f"{where} is not valid CSV ({exc}): rebuild the wheel") from None
    return rows


def _scan_wheel(path: Path, project: str, version: CodexVersion, report: ArtifactReport) -> _Scan:
    """Read ``path`` once: layout, RECORD, binaries, metadata. Faults go into ``report``."""
    scan = _Scan()
    package = _PACKAGES[project]
    dist_info = f"{project.replace('-', '_')}-{version.pep440}.dist-info"
    record_name = f"{dist_info}/RECORD"
    try:
        with WheelArchive(path) as archive:
            for member in archive.members:
                fault = _layout_fault(member.name, package, dist_info, project)
                if fault is not None:
                    report.faults.append(fault)
            if archive.get(record_name) is None:
                report.faults.append(f"no {record_name}")
                return scan
            rows = _record_rows(archive.read(record_name), f"{report.file}:{record_name}")
            for member in archive.files():
                data = archive.read(member)
                if member.name == record_name:
                    rows.pop(record_name, None)
                    continue
                row = rows.pop(member.name, None)
                digest = hashlib.sha256(data).digest()
                if row is None or len(row) != 3 or not row[1].startswith("sha256="):
                    report.faults.append(f"{member.name} has no sha256 RECORD entry")
                elif row[1] != f"sha256={_b64(digest)}" or row[2] != str(len(data)):
                    report.faults.append(f"RECORD hash/size mismatch for {member.name}")
                if not member.name.startswith(f"{dist_info}/"):
                    scan.payload[member.name] = digest.hex()
                elif member.name.startswith(f"{dist_info}/{SBOM_DIR}/"):
                    scan.sboms[member.name] = bytes(data)
                if format_of(bytes(data[:8])) is not None:
                    info: BinaryInfo | None = None
                    if project == RUNTIME_DISTRIBUTION:
                        try:
                            info = inspect_bytes(data, member.name)
                        except ReleaseError as exc:  # a corrupt header: a fault, and the scan goes on
                            report.faults.append(str(exc))
                        else:
                            scan.binaries.append(info)
                    if (info is None or needs_exec_bit(info)) and not member.mode & 0o111:
                        report.faults.append(f"{member.name} is a program without exec bits")
                if member.name == f"{dist_info}/METADATA":
                    scan.metadata = parse_metadata(bytes(data), f"{report.file}:{member.name}")
                elif member.name == f"{dist_info}/WHEEL":
                    scan.wheel = parse_metadata(bytes(data), f"{report.file}:{member.name}")
                elif member.name in (_MANIFEST, _HELPERS) and project == RUNTIME_DISTRIBUTION:
                    try:
                        loaded = json.loads(bytes(data))
                    except ValueError:
                        loaded = None
                    if not isinstance(loaded, dict):
                        report.faults.append(f"{member.name} is not a JSON object")
                    elif member.name == _MANIFEST:
                        scan.manifest = loaded
                    else:
                        scan.helpers = loaded
            report.faults.extend(f"RECORD lists {missing}, which is not in the wheel" for missing in rows)
    except ReleaseError as exc:
        report.faults.append(str(exc))
    for what, found in (("METADATA", scan.metadata), ("WHEEL", scan.wheel)):
        if found is None and not report.faults:
            report.faults.append(f"no {dist_info}/{what}")
    if scan.metadata is not None and (
        canonicalize_name(scan.metadata.get("Name", "")) != project or scan.metadata.get("Version") != version.pep440
    ):
        report.faults.append(f"METADATA says {scan.metadata.get('Name')} {scan.metadata.get('Version')}")
    return scan


def _sbom_faults(scan: _Scan, version: CodexVersion, target: Target) -> list[str]:
    """A runtime wheel carries exactly one SBOM (PEP 770) that lists exactly its payload with true hashes."""
    if len(scan.sboms) != 1:
        found = ", ".join(sorted(scan.sboms)) or "none"
        return [
            f"a runtime wheel carries exactly one SBOM in .dist-info/{SBOM_DIR}/ (found {found}): "
            "rebuild it with stage-runtime"
        ]
    ((name, document),) = scan.sboms.items()
    npm_version = f"{version.semver}-{target.npm_suffix}"
    return [f"{name}: {fault}" for fault in check_sbom(document, version.pep440, scan.payload, npm_version=npm_version)]


def _verify_runtime_wheel(
    file: DistFile, version: CodexVersion
) -> tuple[ArtifactReport, str | None, WheelFacts | None]:
    report = ArtifactReport(file.name, "runtime wheel", size=file.path.stat().st_size)
    platforms = {tag.platform for tag in file.tags}
    report.tags = ".".join(sorted(platforms))
    scan = _scan_wheel(file.path, RUNTIME_DISTRIBUTION, version, report)
    if scan.wheel is not None:
        if scan.wheel.get("Root-Is-Purelib", "").strip().lower() != "false":
            report.faults.append("WHEEL must say Root-Is-Purelib: false")
        if set(scan.wheel.get_all("Tag", [])) != {str(tag) for tag in file.tags}:
            report.faults.append("WHEEL Tag lines differ from the filename's tags")
    if scan.manifest is None:
        if not report.faults:
            report.faults.append(f"no {_MANIFEST}")
        return report, None, None
    triple = str(scan.manifest.get("target"))
    try:
        target = get_target(triple)
        report.target = triple
        try:
            bundled = parse_codex_version(str(scan.manifest.get("version")))
        except ReleaseError:
            bundled = None
        if bundled != version:
            report.faults.append(f"bundled codex-package.json is version {scan.manifest.get('version')}")
        report.faults.extend(_sbom_faults(scan, version, target))
        derived = derive_platform_tags(scan.binaries, target)
        problems = [f"tag {part}: {p}" for part in sorted(platforms) if (p := tag_problem(part, scan.binaries, target))]
        report.faults.extend(problems)
        if set(derived) != platforms and not problems:
            report.faults.append(f"tags {report.tags} but the binaries earn {'.'.join(derived)}")
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return report, None, None
    path_dir = str(scan.manifest.get("pathDir") or "codex-path")
    facts = WheelFacts(file.name, frozenset(platforms), tuple(scan.binaries), path_dir, scan.helpers)
    report.variant = str((scan.helpers or {}).get("variant", ""))
    return report, triple, facts


def _requires_runtime(metadata: Message, version: CodexVersion, report: ArtifactReport) -> None:
    pins = runtime_pins(metadata)
    expected = f"{RUNTIME_DISTRIBUTION}=={version.pep440}"
    exact = (
        len(pins) == 1
        and str(pins[0].specifier) == f"=={version.pep440}"
        and pins[0].marker is None
        and not pins[0].extras
        and pins[0].url is None
    )
    if not exact:
        found = ", ".join(str(p) for p in pins) or "none"
        report.faults.append(f"must require exactly {expected}, no marker or extra (found {found})")


def _verify_sdk_wheel(file: DistFile, version: CodexVersion) -> ArtifactReport:
    report = ArtifactReport(file.name, "sdk wheel", tags="py3-none-any", size=file.path.stat().st_size)
    scan = _scan_wheel(file.path, SDK_DISTRIBUTION, version, report)
    if scan.wheel is not None and scan.wheel.get("Root-Is-Purelib", "").strip().lower() != "true":
        report.faults.append("the SDK wheel must be pure (Root-Is-Purelib: true)")
    if scan.metadata is not None:
        _requires_runtime(scan.metadata, version, report)
    return report


def _verify_sdk_sdist(file: DistFile, version: CodexVersion) -> ArtifactReport:
    report = ArtifactReport(file.name, "sdk sdist", size=file.path.stat().st_size)
    try:
        metadata = sdist_metadata(file.path)
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return report
    _requires_runtime(metadata, version, report)
    return report


def _twine_check(files: list[Path]) -> dict[str, str]:
    """``twine check --strict`` over ``files``: file name -> failure text (absent when it passed)."""
    if not files:
        return {}
    result = processes.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)], timeout=600)
    failures: dict[str, str] = {}
    current = None
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("Checking "):
            current = Path(line.split(":", 1)[0].removeprefix("Checking ")).name
            if "FAILED" in line:
                failures[current] = "twine check --strict failed"
        elif current in failures and line.strip():
            failures[current] += f": {line.strip()}"
    if result.returncode != 0 and not failures:
        failures["*"] = f"twine check failed: {result.stderr.strip()[-300:]}"
    return failures


def _size_faults(artifacts: list[ArtifactReport], limits: SizeLimits) -> tuple[list[str], str]:
    """Each file against the index's per-file limit (a fault on the file), the total against the project's."""
    for report in artifacts:
        if (fault := limits.file_fault(report.size)) is not None:
            report.faults.append(fault)
    sizes = {report.file: report.size for report in artifacts}
    total = limits.total_fault(sum(sizes.values()))
    return ([total] if total else []), limits.summary(sizes)


def verify_dist(
    dist_dir: Path, version: CodexVersion, *, require_sdk: bool = False, limits: SizeLimits | None = None
) -> VerifyReport:
    """Verify every artifact of release ``version`` in ``dist_dir``; sizes against ``limits`` (default: the
    index's default limits, :class:`~codex_release.checks.index_limits.SizeLimits`)."""
    listing = list_dist(dist_dir)
    faults: list[str] = list(listing.faults)
    runtime_wheels: list[DistFile] = []
    artifacts: list[ArtifactReport] = []
    packaged: list[Path] = []
    sdk_files: dict[str, DistFile] = {}
    for file in listing.files:
        if file.project == RUNTIME_DISTRIBUTION and file.kind == "sdist":
            faults.append(f"{file.name}: the runtime is wheel-only, a runtime sdist must never ship: delete it")
            continue
        packaged.append(file.path)
        if str(file.version) != version.pep440:
            faults.append(f"{file.name} is version {file.version}, not {version}: remove it from {dist_dir}")
        elif file.project == RUNTIME_DISTRIBUTION:
            runtime_wheels.append(file)
        elif file.project == SDK_DISTRIBUTION:
            sdk_files[file.kind] = file
        else:
            faults.append(f"{file.name} is not part of the release: remove it from {dist_dir}")
    # twine runs in its own process meanwhile: the wheels are read by two threads (inflating and hashing
    # release the GIL), and the whole check takes about as long as the slower of the two.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twine-check") as side:
        twine_check = side.submit(_twine_check, packaged)
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda f: _verify_runtime_wheel(f, version), runtime_wheels))
        twine = twine_check.result()
    seen: dict[str, list[WheelFacts]] = {}
    for report, triple, facts in results:
        artifacts.append(report)
        if triple is not None:
            seen.setdefault(triple, [])
            if facts is not None:
                seen[triple].append(facts)
    for target in TARGETS:
        if target.triple not in seen:
            faults.append(f"no runtime wheel for {target.triple}: stage it with stage-runtime --wheel-dir")
        else:
            faults.extend(variant_faults(target, seen[target.triple]))
    if "wheel" in sdk_files:
        artifacts.append(_verify_sdk_wheel(sdk_files["wheel"], version))
    if "sdist" in sdk_files:
        artifacts.append(_verify_sdk_sdist(sdk_files["sdist"], version))
    if require_sdk:
        faults.extend(
            f"no SDK {kind} for {version}: build it with stage-sdk --dist-dir"
            for kind in ("wheel", "sdist")
            if kind not in sdk_files
        )
    for report in artifacts:
        if report.file in twine:
            report.faults.append(twine[report.file])
    if "*" in twine:
        faults.append(twine["*"])
    size_faults, sizes = _size_faults(artifacts, limits or SizeLimits())
    faults.extend(size_faults)
    return VerifyReport(artifacts, faults, sizes)
