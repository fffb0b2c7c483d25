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
  nothing else (:func:`codex_release.core.sbom.check_sbom`);
* WHEEL (``Root-Is-Purelib``, tag lines equal to the filename's), METADATA name and version, the bundled
  ``codex-package.json`` at the release version, and the SDK's requirement on the runtime exactly
  ``openai-codex-cli-bin==V`` (no marker, no extra, no URL), in the wheel and the sdist, as are the SDK's
  own version and its generated types' ``CODEX_VERSION`` (types of another runtime under a pin on V).

Sizes: every file against the index's per-file upload limit and the release's total against the
project limit (:mod:`codex_release.checks.index_limits`): a file the index would refuse fails here, before
publishing starts.

For the set: per target exactly the wheels its binaries call for (one, or full + lean where an optional
``codex-path/`` helper narrows the tags: :func:`codex_release.core.variants.variant_faults`), no runtime
sdist, nothing at another version, no stray distribution, and entries named like artifacts that are not
regular files (a FIFO ``x.whl``) reported without being opened (:mod:`codex_release.core.dist`).
``twine check --strict`` on all, with the publisher's own twine (:mod:`codex_release.checks.publisher_twine`:
the publish action's bundled twine, whose ``packaging`` may not read metadata that ours reads).

How the wheels are read (:func:`_scan_wheels`), a release being 1 GB of wheels and 2.7 GB inflated: every
central directory and RECORD first, then every member on a pool of two threads, largest first, so both
stay busy to the end; a member whose compressed bytes equal another's (the lean aarch64 wheel reuses the
full one's: 400 MB) is proven equal byte for byte and shares the first one's digest instead of being
inflated again; then each wheel's members are judged in its own order, as one pass over it would. twine
runs meanwhile in a side process, without the hashing it does for uploads
(:mod:`codex_release.checks.twine_check`).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from codex_release.archives import WheelArchive, WheelMember
from codex_release.binaries import BinaryInfo, format_of, inspect_bytes, needs_exec_bit
from codex_release.checks.index_limits import SizeLimits
from codex_release.checks.publisher_twine import Publisher, check_files, toolkit_twine
from codex_release.core.artifact_metadata import parse_metadata, runtime_pins, sdist_member, sdist_metadata
from codex_release.core.dist import DistFile, list_dist
from codex_release.core.pins import GENERATED_INIT, RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION, generated_codex_version
from codex_release.core.platform_tags import derive_platform_tags, tag_problem
from codex_release.core.sbom import SBOM_DIR, check_sbom
from codex_release.core.targets import TARGETS, Target, get_target
from codex_release.core.variants import HELPERS_FILE, WheelFacts, variant_faults
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ArchiveRefused, ReleaseError

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
    twine: str = ""
    """Which twine judged the files (``twine check --strict: twine 7.0.0 (...)``): the publisher's, normally."""

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
        if self.twine:
            lines.append(self.twine)
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
    generated: bytes | None = None
    """The SDK's ``openai_codex/generated/__init__.py``: its ``CODEX_VERSION`` must be the release's."""


def _dist_info(project: str, version: CodexVersion) -> str:
    """The ``.dist-info`` directory a wheel of ``project`` at ``version`` must hold."""
    return f"{project.replace('-', '_')}-{version.pep440}.dist-info"


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
        raise ArchiveRefused(f"{where} is not UTF-8: rebuild the wheel") from None
    rows: dict[str, list[str]] = {}
    try:
        for row in csv.reader(io.StringIO(text)):
            if not row:
                continue
            if row[0] in rows:
                raise ArchiveRefused(f"{where} lists {row[0]!r} twice: rebuild the wheel")
            rows[row[0]] = row
    except csv.Error as exc:
        raise ArchiveRefused(f"{where} is not valid CSV ({exc}): rebuild the wheel") from None
    return rows


@dataclass
class _Plan:
    """One wheel opened for the scan: its reader, its RECORD rows, and the report its faults go to."""

    position: int
    project: str
    archive: WheelArchive
    report: ArtifactReport
    dist_info: str
    rows: dict[str, list[str]]
    scan: _Scan

    @property
    def record_name(self) -> str:
        return f"{self.dist_info}/RECORD"

    def wanted(self, name: str) -> bool:
        """Whether the scan parses this member's bytes (so the job keeps them): METADATA, WHEEL, the SBOMs,
        and for the runtime the bundled manifest and helpers file. Everything else is only hashed."""
        if name in (f"{self.dist_info}/METADATA", f"{self.dist_info}/WHEEL"):
            return True
        if name.startswith(f"{self.dist_info}/{SBOM_DIR}/"):
            return True
        if self.project == SDK_DISTRIBUTION:
            return name == GENERATED_INIT
        return self.project == RUNTIME_DISTRIBUTION and name in (_MANIFEST, _HELPERS)


@dataclass(frozen=True)
class _Facts:
    """What the scan needs of one member's bytes, taken while they were in memory."""

    sha256: bytes
    size: int
    binary: bool
    """The bytes start with a magic of the one table (:func:`codex_release.binaries.format_of`)."""
    info: BinaryInfo | None = None
    inspect_fault: str | None = None
    """Runtime only: the binary's headers (or why they could not be read), named after this member."""
    data: bytes | None = None
    """Kept only for the members the scan parses (:meth:`_Plan.wanted`)."""


_Ref = tuple[int, WheelMember]
"""A member of the wheel at that position of the scan."""
_Outcome = dict[tuple[int, int], _Facts | ReleaseError]
"""(wheel position, member index) -> the member's facts, or the error reading it stopped at."""

_WORKERS = 2
"""Threads inflating and hashing (both release the GIL); each holds up to one inflated member (380 MB)."""
_raw_buffers = threading.local()


def _raw_buffer(size: int) -> bytearray:
    """A buffer of at least ``size`` bytes that this thread reuses for every member's compressed bytes.

    Reading each 130 MB member into a fresh buffer cost 32 000 page faults apiece (a quarter of the
    scan's system time); the pool schedules the largest members first, so the buffer is sized once.
    """
    buffer: bytearray | None = getattr(_raw_buffers, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _raw_buffers.buffer = bytearray(size)
    return buffer


def _open_wheel(
    position: int, path: Path, project: str, version: CodexVersion, report: ArtifactReport, stack: contextlib.ExitStack
) -> _Plan | None:
    """Open ``path`` and read what comes before the members: layout faults and RECORD. ``None`` when the
    scan stops here (unreadable wheel, no RECORD, a RECORD that does not parse): the fault is reported."""
    package = _PACKAGES[project]
    dist_info = _dist_info(project, version)
    record_name = f"{dist_info}/RECORD"
    try:
        archive = stack.enter_context(WheelArchive(path))
        for member in archive.members:
            fault = _layout_fault(member.name, package, dist_info, project)
            if fault is not None:
                report.faults.append(fault)
        if archive.get(record_name) is None:
            report.faults.append(f"no {record_name}")
            return None
        rows = _record_rows(archive.read(record_name), f"{report.file}:{record_name}")
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return None
    return _Plan(position, project, archive, report, dist_info, rows, _Scan())


def _groups(plans: list[_Plan]) -> list[list[_Ref]]:
    """Every member to read, in groups that may hold the same compressed bytes, largest first.

    Members of all the wheels with equal :attr:`~codex_release.archives.WheelMember.content_key` share a
    group: only they can be byte-identical (the lean aarch64 wheel reuses the full one's compressed
    members, 400 MB inflated and hashed twice otherwise). Largest first on the pool keeps the two workers
    busy to the end, whatever the wheels' sizes (one wheel per worker left one idle for a second).
    """
    groups: dict[tuple[int, int, int, int], list[_Ref]] = {}
    for plan in plans:
        for member in plan.archive.files():
            if member.name != plan.record_name:  # read (and its CRC-32 checked) when the plan was made
                groups.setdefault(member.content_key, []).append((plan.position, member))
    return sorted(groups.values(), key=lambda group: group[0][1].size, reverse=True)


def _facts(data: bytes | bytearray, digest: bytes, plan: _Plan, member: WheelMember) -> _Facts:
    """The facts of ``member``, whose bytes are ``data`` (checked against its CRC-32 and size)."""
    binary = format_of(bytes(data[:8])) is not None
    info: BinaryInfo | None = None
    fault: str | None = None
    if binary and plan.project == RUNTIME_DISTRIBUTION:
        try:
            info = inspect_bytes(data, member.name)
        except ReleaseError as exc:  # a corrupt header: a fault, and the scan goes on
            fault = str(exc)
    kept = bytes(data) if plan.wanted(member.name) else None
    return _Facts(digest, len(data), binary, info, fault, kept)


def _read_alone(plan: _Plan, member: WheelMember) -> _Facts | ReleaseError:
    try:
        data = plan.archive.read(member)
    except ReleaseError as exc:
        return exc
    return _facts(data, hashlib.sha256(data).digest(), plan, member)


def _read_group(plans: list[_Plan], group: list[_Ref]) -> _Outcome:
    """Inflate the group's first member; every other one is proven to hold byte-identical compressed bytes
    (same method, CRC-32 and sizes, then the bytes compared) and shares its digest, or is read on its own.

    Sound: equal compressed bytes inflate to equal bytes, so the CRC-32 and size check, the sha256 and the
    binary's headers come out the same; the headers are still read under each member's own name, and its
    local header is checked like any read's. When the first member fails to inflate, there are no bytes
    to share: each member is read on its own and fails, or not, with its own name.
    """
    (position, first), *others = group
    plan = plans[position]
    outcome: _Outcome = {}
    try:
        raw = plan.archive.raw(first, _raw_buffer(first.compressed_size))
        data = plan.archive.inflate(first, raw)
    except ReleaseError as exc:
        outcome[position, first.index] = exc
        for other_position, other in others:
            outcome[other_position, other.index] = _read_alone(plans[other_position], other)
        return outcome
    digest = hashlib.sha256(data).digest()
    outcome[position, first.index] = _facts(data, digest, plan, first)
    buffer = raw.obj
    assert isinstance(buffer, bytearray)
    for other_position, other in others:
        other_plan = plans[other_position]
        try:
            same = other_plan.archive.same_raw(other, buffer, first.compressed_size)
        except ReleaseError as exc:
            outcome[other_position, other.index] = exc
            continue
        found = _facts(data, digest, other_plan, other) if same else _read_alone(other_plan, other)
        outcome[other_position, other.index] = found
    return outcome


def _record_fault(member: WheelMember, row: list[str] | None, facts: _Facts) -> str | None:
    if row is None or len(row) != 3 or not row[1].startswith("sha256="):
        return f"{member.name} has no sha256 RECORD entry"
    if row[1] != f"sha256={_b64(facts.sha256)}" or row[2] != str(facts.size):
        return f"RECORD hash/size mismatch for {member.name}"
    return None


def _take_parsed(plan: _Plan, member: WheelMember, data: bytes) -> None:
    """The members the scan parses: METADATA, WHEEL, the runtime's manifest and helpers file."""
    scan, report = plan.scan, plan.report
    if member.name == f"{plan.dist_info}/METADATA":
        scan.metadata = parse_metadata(data, f"{report.file}:{member.name}")
    elif member.name == f"{plan.dist_info}/WHEEL":
        scan.wheel = parse_metadata(data, f"{report.file}:{member.name}")
    elif member.name == GENERATED_INIT and plan.project == SDK_DISTRIBUTION:
        scan.generated = data
    elif member.name in (_MANIFEST, _HELPERS) and plan.project == RUNTIME_DISTRIBUTION:
        try:
            loaded = json.loads(data)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            report.faults.append(f"{member.name} is not a JSON object")
        elif member.name == _MANIFEST:
            scan.manifest = loaded
        else:
            scan.helpers = loaded


def _take_member(plan: _Plan, member: WheelMember, facts: _Facts) -> None:
    """One member's facts into the scan and the report: RECORD row, payload digest, SBOM, binary."""
    scan, report = plan.scan, plan.report
    fault = _record_fault(member, plan.rows.pop(member.name, None), facts)
    if fault is not None:
        report.faults.append(fault)
    if not member.name.startswith(f"{plan.dist_info}/"):
        scan.payload[member.name] = facts.sha256.hex()
    elif member.name.startswith(f"{plan.dist_info}/{SBOM_DIR}/") and facts.data is not None:
        scan.sboms[member.name] = facts.data
    if facts.binary:
        if facts.inspect_fault is not None:
            report.faults.append(facts.inspect_fault)
        elif facts.info is not None:
            scan.binaries.append(facts.info)
        if (facts.info is None or needs_exec_bit(facts.info)) and not member.mode & 0o111:
            report.faults.append(f"{member.name} is a program without exec bits")
    if facts.data is not None:
        _take_parsed(plan, member, facts.data)


def _take_outcome(plan: _Plan, outcome: _Outcome) -> None:
    """The members' facts in the wheel's order, as one pass over it would find them: the first member
    that could not be read ends the scan of this wheel with its fault."""
    try:
        for member in plan.archive.files():
            if member.name == plan.record_name:
                plan.rows.pop(plan.record_name, None)
                continue
            found = outcome[plan.position, member.index]
            if isinstance(found, ReleaseError):
                raise found
            _take_member(plan, member, found)
        plan.report.faults.extend(f"RECORD lists {missing}, which is not in the wheel" for missing in plan.rows)
    except ReleaseError as exc:
        plan.report.faults.append(str(exc))


def _metadata_faults(scan: _Scan, project: str, version: CodexVersion, report: ArtifactReport) -> None:
    dist_info = _dist_info(project, version)
    for what, found in (("METADATA", scan.metadata), ("WHEEL", scan.wheel)):
        if found is None and not report.faults:
            report.faults.append(f"no {dist_info}/{what}")
    if scan.metadata is not None and (
        canonicalize_name(scan.metadata.get("Name", "")) != project or scan.metadata.get("Version") != version.pep440
    ):
        report.faults.append(f"METADATA says {scan.metadata.get('Name')} {scan.metadata.get('Version')}")


def _scan_wheels(wheels: list[tuple[Path, ArtifactReport]], project: str, version: CodexVersion) -> list[_Scan]:
    """Read every wheel of ``project`` once: layout, RECORD, binaries, metadata. Faults go into the reports.

    All central directories and RECORDs first, then every member on a pool of :data:`_WORKERS` threads
    (inflating, hashing and reading release the GIL), members with the same compressed bytes inflated
    once (:func:`_read_group`); then each wheel's members in its own order, exactly as one pass over the
    wheel would take them.
    """
    scans: list[_Scan] = []
    with contextlib.ExitStack() as stack:
        plans: list[_Plan] = []
        for path, report in wheels:
            plan = _open_wheel(len(plans), path, project, version, report, stack)
            if plan is not None:
                plans.append(plan)
            scans.append(_Scan() if plan is None else plan.scan)
        outcome: _Outcome = {}
        with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="verify-read") as pool:
            for found in pool.map(lambda group: _read_group(plans, group), _groups(plans)):
                outcome.update(found)
        for plan in plans:
            _take_outcome(plan, outcome)
    for scan, (_, report) in zip(scans, wheels, strict=True):
        _metadata_faults(scan, project, version, report)
    return scans


def _scan_wheel(path: Path, project: str, version: CodexVersion, report: ArtifactReport) -> _Scan:
    """Read ``path`` once: layout, RECORD, binaries, metadata. Faults go into ``report``."""
    return _scan_wheels([(path, report)], project, version)[0]


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


def _runtime_report(file: DistFile) -> ArtifactReport:
    platforms = {tag.platform for tag in file.tags}
    return ArtifactReport(file.name, "runtime wheel", size=file.path.stat().st_size, tags=".".join(sorted(platforms)))


def _verify_runtime_wheels(
    files: list[DistFile], version: CodexVersion
) -> list[tuple[ArtifactReport, str | None, WheelFacts | None]]:
    """Every runtime wheel, read in one scan (:func:`_scan_wheels`), then judged one by one."""
    reports = [_runtime_report(file) for file in files]
    scans = _scan_wheels(
        [(file.path, report) for file, report in zip(files, reports, strict=True)], RUNTIME_DISTRIBUTION, version
    )
    return [
        _judge_runtime_wheel(file, report, scan, version)
        for file, report, scan in zip(files, reports, scans, strict=True)
    ]


def _judge_runtime_wheel(
    file: DistFile, report: ArtifactReport, scan: _Scan, version: CodexVersion
) -> tuple[ArtifactReport, str | None, WheelFacts | None]:
    """WHEEL, manifest, SBOM and tags of one scanned runtime wheel; its target and variant facts."""
    platforms = {tag.platform for tag in file.tags}
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


def _generated_from(source: bytes | None, where: str, version: CodexVersion, report: ArtifactReport) -> None:
    """The SDK's generated types were made from the release's runtime: an SDK whose pin and version say X
    but whose protocol types say another runtime would be published for good (the index never lets a file
    be replaced)."""
    if source is None:
        report.faults.append(f"no {GENERATED_INIT}: rebuild the SDK with stage-sdk --dist-dir")
        return
    try:
        generated = generated_codex_version(source, where)
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return
    if generated != version:
        report.faults.append(
            f"{GENERATED_INIT} says CODEX_VERSION {generated}, not {version}: the types come from another "
            "runtime; run 'codex-release generate-types' and rebuild the SDK"
        )


def _verify_sdk_wheel(file: DistFile, version: CodexVersion) -> ArtifactReport:
    report = ArtifactReport(file.name, "sdk wheel", tags="py3-none-any", size=file.path.stat().st_size)
    scan = _scan_wheel(file.path, SDK_DISTRIBUTION, version, report)
    if scan.wheel is not None and scan.wheel.get("Root-Is-Purelib", "").strip().lower() != "true":
        report.faults.append("the SDK wheel must be pure (Root-Is-Purelib: true)")
    if scan.metadata is not None:
        _requires_runtime(scan.metadata, version, report)
        _generated_from(scan.generated, f"{file.name}:{GENERATED_INIT}", version, report)
    return report


def _verify_sdk_sdist(file: DistFile, version: CodexVersion) -> ArtifactReport:
    report = ArtifactReport(file.name, "sdk sdist", size=file.path.stat().st_size)
    try:
        metadata = sdist_metadata(file.path)
        generated = sdist_member(file.path, f"src/{GENERATED_INIT}")
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return report
    if metadata.get("Version") != version.pep440:
        report.faults.append(f"PKG-INFO says version {metadata.get('Version')}, not {version}")
    _requires_runtime(metadata, version, report)
    _generated_from(generated, f"{file.name}:src/{GENERATED_INIT}", version, report)
    return report


def _twine_check(files: list[Path], publisher: Publisher) -> dict[str, str]:
    """``twine check --strict`` over ``files`` with the publisher's twine, without the upload hashing
    (:func:`codex_release.checks.publisher_twine.check_files`): file name -> failure text, ``"*"`` for the run."""
    return check_files(files, publisher)


def _size_faults(artifacts: list[ArtifactReport], limits: SizeLimits) -> tuple[list[str], str]:
    """Each file against the index's per-file limit (a fault on the file), the total against the project's."""
    for report in artifacts:
        if (fault := limits.file_fault(report.size)) is not None:
            report.faults.append(fault)
    sizes = {report.file: report.size for report in artifacts}
    total = limits.total_fault(sum(sizes.values()))
    return ([total] if total else []), limits.summary(sizes)


def verify_dist(
    dist_dir: Path,
    version: CodexVersion,
    *,
    require_sdk: bool = False,
    limits: SizeLimits | None = None,
    publisher: Publisher | None = None,
) -> VerifyReport:
    """Verify every artifact of release ``version`` in ``dist_dir``; sizes against ``limits`` (default: the
    index's default limits, :class:`~codex_release.checks.index_limits.SizeLimits`). ``twine check --strict``
    runs with ``publisher`` (the CLI passes the pinned publish action's twine,
    :func:`~codex_release.checks.publisher_twine.pinned_publisher`); without one, with this toolkit's twine."""
    twine_tool = publisher or toolkit_twine()
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
    # twine runs in its own process meanwhile, while the wheels' members are read by the scan's pool.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twine-check") as side:
        twine_check = side.submit(_twine_check, packaged, twine_tool)
        results = _verify_runtime_wheels(runtime_wheels, version)
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
    return VerifyReport(artifacts, faults, sizes, twine=f"twine check --strict: {twine_tool.describe()}")
