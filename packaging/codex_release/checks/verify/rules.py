"""What ``verify: OK`` means: every rule of the security gate, as pure functions from facts to faults.

This is the one module to audit. The facts are the dataclasses below, gathered from DIST by
:mod:`codex_release.checks.verify.scan` (which may be as fast as it likes: the property test
``tests/test_verify_scan_property.py`` holds its facts equal to those of a plain, single-threaded read of
every member). Nothing here reads a file, starts a thread or opens an archive; every function takes facts
and returns faults (one line each, naming what was found and the fix), in the order one pass over the
release meets them.

What the scanner already guarantees before any fact exists: each wheel is opened through
:class:`codex_release.archives.WheelArchive`, which refuses unsafe, duplicate or case-colliding names,
symlinks and other non-regular members, encrypted or overlapping members, non-deflate compression and
archives above the size caps (that refusal is :attr:`WheelFacts.unreadable`), and every member's bytes are
checked against its CRC-32 and size before a fact is taken from them (else :attr:`MemberFacts.read_fault`).

The rules, per artifact and for the set:

* layout (:func:`layout_fault`): only the distribution's package and its ``.dist-info/``; no ``.pth``, no
  ``.data/``;
* RECORD (:func:`record_rows`, :func:`record_fault`): complete and true, every file once with its sha256
  and size, no row without a file;
* binaries (:func:`wheel_contents`): recognised by the one magic table, executable bits set, and for the
  runtime the platform tags equal to what the binaries earn (:func:`runtime_wheel_report`);
* the runtime's SBOM (:func:`sbom_faults`), WHEEL, METADATA, the bundled ``codex-package.json``;
* the SDK's pin on the runtime (:func:`requires_runtime`) and its generated types (:func:`generated_from`),
  in the wheel and the sdist;
* the set (:func:`sort_dist`, :func:`judge`): per target the wheels its binaries call for, no runtime
  sdist, nothing at another version, no stray distribution, ``twine check --strict`` clean, every file
  within the index's per-file upload limit and the release within the project's.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from codex_release.binaries import BinaryInfo, needs_exec_bit
from codex_release.checks.index_limits import SizeLimits
from codex_release.core.artifact_metadata import parse_metadata, runtime_pins
from codex_release.core.dist import DistFile, DistListing
from codex_release.core.pins import GENERATED_INIT, RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION, generated_codex_version
from codex_release.core.platform_tags import derive_platform_tags, tag_problem
from codex_release.core.sbom import SBOM_DIR, check_sbom
from codex_release.core.targets import TARGETS, Target, get_target
from codex_release.core.variants import HELPERS_FILE, VariantFacts, variant_faults
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ArchiveRefused, ReleaseError

__all__ = [
    "ArtifactReport",
    "ContentFacts",
    "MemberFacts",
    "ReleaseFacts",
    "SdistFacts",
    "SortedDist",
    "Verdict",
    "WheelContents",
    "WheelFacts",
    "dist_info",
    "generated_from",
    "judge",
    "keeps_bytes",
    "layout_fault",
    "record_fault",
    "record_rows",
    "requires_runtime",
    "runtime_wheel_report",
    "sbom_faults",
    "sdk_sdist_report",
    "sdk_wheel_report",
    "size_faults",
    "sort_dist",
    "wheel_contents",
]

PACKAGES = {RUNTIME_DISTRIBUTION: "codex_cli_bin", SDK_DISTRIBUTION: "openai_codex"}
"""The one top-level package each distribution's wheel may hold besides its ``.dist-info/``."""
MANIFEST = "codex_cli_bin/vendor/codex-package.json"
HELPERS = f"codex_cli_bin/{HELPERS_FILE}"


# --------------------------------------------------------------------------------------------------
# The facts (what the scanner found; no judgement in them)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentFacts:
    """What one member's bytes showed, taken while they were in memory, after they matched the member's
    CRC-32 and size."""

    sha256: bytes
    """The digest of the inflated bytes."""
    size: int
    """The inflated length."""
    binary: bool
    """The bytes start with a magic of the one table (:func:`codex_release.binaries.format_of`)."""
    info: BinaryInfo | None = None
    """Runtime wheels only: the binary's headers, read from these bytes under this member's own name."""
    inspect_fault: str | None = None
    """Runtime wheels only: why the binary's headers could not be read (named after this member)."""
    data: bytes | None = None
    """The bytes themselves, only for the members the rules parse (:func:`keeps_bytes`)."""


@dataclass(frozen=True)
class MemberFacts:
    """One entry of a wheel's central directory."""

    name: str
    """As the archive reader checked it (directories end with ``/``)."""
    is_dir: bool
    mode: int
    """The Unix permission bits."""
    content: ContentFacts | None = None
    """A file's facts; ``None`` for a directory, or when its bytes could not be read."""
    read_fault: str | None = None
    """Why a file's bytes could not be read (cut short, corrupt DEFLATE data, CRC-32 or size mismatch, a
    local header that disagrees with the central directory), as the reader words it."""


@dataclass(frozen=True)
class WheelFacts:
    """One wheel file, as read."""

    file: str
    """The file name (no directory)."""
    size: int
    """Its size in bytes."""
    members: tuple[MemberFacts, ...] = ()
    """Every entry, in central-directory order; empty when the wheel could not be opened."""
    unreadable: str | None = None
    """Why the archive reader refused to open it (not a zip, an unsafe name, a symlink, ...)."""


@dataclass(frozen=True)
class SdistFacts:
    """The SDK's sdist, as read."""

    file: str
    size: int
    metadata: Message | None = None
    """Its top-level ``PKG-INFO``, parsed."""
    generated: bytes | None = None
    """``src/openai_codex/generated/__init__.py``, ``None`` when it holds no such file."""
    unreadable: str | None = None
    """Why it could not be read."""


@dataclass(frozen=True)
class SortedDist:
    """DIST sorted by what each file is (:func:`sort_dist`): which files the scanner reads, and the faults
    of the listing itself."""

    faults: tuple[str, ...]
    runtime_wheels: tuple[DistFile, ...]
    sdk_wheel: DistFile | None
    sdk_sdist: DistFile | None
    packaged: tuple[DistFile, ...]
    """Every distribution file but a runtime sdist: what ``twine check`` judges."""


@dataclass(frozen=True)
class ReleaseFacts:
    """Everything the scanner found in DIST, for the files :class:`SortedDist` named."""

    runtime_wheels: tuple[WheelFacts, ...]
    """In the order of :attr:`SortedDist.runtime_wheels`."""
    sdk_wheel: WheelFacts | None
    sdk_sdist: SdistFacts | None
    twine: Mapping[str, str]
    """``twine check --strict``: file name -> failure text, ``"*"`` for a failure of the run as a whole."""
    twine_tool: str
    """Which twine judged (``twine 7.0.0 (packaging 26.2; ...)``)."""


# --------------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Verdict:
    """The artifacts with their faults, the faults of the set, and the sizes line."""

    artifacts: list[ArtifactReport]
    faults: list[str]
    sizes: str


# --------------------------------------------------------------------------------------------------
# One wheel: layout, RECORD, binaries, metadata
# --------------------------------------------------------------------------------------------------


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def dist_info(project: str, version: CodexVersion) -> str:
    """The ``.dist-info`` directory a wheel of ``project`` at ``version`` must hold."""
    return f"{project.replace('-', '_')}-{version.pep440}.dist-info"


def keeps_bytes(name: str, project: str, version: CodexVersion) -> bool:
    """Whether the rules parse this member's bytes (so the scanner keeps them in :attr:`ContentFacts.data`):
    RECORD, METADATA, WHEEL, the SBOMs, for the SDK its generated ``__init__.py``, for the runtime the bundled
    manifest and helpers file. Everything else is only hashed."""
    info = dist_info(project, version)
    if name in (f"{info}/RECORD", f"{info}/METADATA", f"{info}/WHEEL"):
        return True
    if name.startswith(f"{info}/{SBOM_DIR}/"):
        return True
    if project == SDK_DISTRIBUTION:
        return name == GENERATED_INIT
    return project == RUNTIME_DISTRIBUTION and name in (MANIFEST, HELPERS)


def layout_fault(name: str, package: str, dist_info: str, project: str) -> str | None:
    """Only ``package/`` and ``dist_info/`` may be installed: a ``.pth`` file runs code at every interpreter
    start, a ``.data/`` directory installs scripts or files outside site-packages, and any other top-level
    name would land beside other distributions' packages."""
    parts = PurePosixPath(name).parts
    if name.endswith(".pth"):
        return f"{name} is a .pth file (it runs code at every interpreter start): a wheel must not ship one"
    if parts[0].endswith(".data"):
        return f"{name} is under a .data/ directory (installed outside site-packages): not allowed"
    if parts[0] not in (package, dist_info):
        return f"{name} lies outside {package}/ and {dist_info}/: a wheel of {project} may hold nothing else"
    return None


def record_rows(data: bytes | bytearray, where: str) -> dict[str, list[str]]:
    """RECORD parsed: path -> row. Not UTF-8, not CSV or a path listed twice is a :class:`ReleaseError`
    (one RECORD row per file is what lets :func:`record_fault` find the row of every file)."""
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


def record_fault(name: str, row: list[str] | None, content: ContentFacts) -> str | None:
    """RECORD is true for this file: a row with its sha256 and size equal to the digest and length of the
    bytes the wheel holds (installers check the hash; a row that lies would let a swapped file in)."""
    if row is None or len(row) != 3 or not row[1].startswith("sha256="):
        return f"{name} has no sha256 RECORD entry"
    if row[1] != f"sha256={_b64(content.sha256)}" or row[2] != str(content.size):
        return f"RECORD hash/size mismatch for {name}"
    return None


@dataclass
class WheelContents:
    """What the rules took from one wheel's facts besides faults: parsed metadata, binaries, digests."""

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


def _take_parsed(
    contents: WheelContents, wheel: WheelFacts, name: str, data: bytes, project: str, info: str
) -> str | None:
    """The members the rules parse: METADATA, WHEEL, the SDK's generated types, the runtime's manifest and
    helpers file (each must be a JSON object). Returns a fault; METADATA or WHEEL that is not UTF-8 is a
    :class:`ReleaseError` (the wheel's judgement stops there)."""
    if name == f"{info}/METADATA":
        contents.metadata = parse_metadata(data, f"{wheel.file}:{name}")
    elif name == f"{info}/WHEEL":
        contents.wheel = parse_metadata(data, f"{wheel.file}:{name}")
    elif name == GENERATED_INIT and project == SDK_DISTRIBUTION:
        contents.generated = data
    elif name in (MANIFEST, HELPERS) and project == RUNTIME_DISTRIBUTION:
        try:
            loaded = json.loads(data)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            return f"{name} is not a JSON object"
        if name == MANIFEST:
            contents.manifest = loaded
        else:
            contents.helpers = loaded
    return None


def _take_member(
    contents: WheelContents,
    wheel: WheelFacts,
    member: MemberFacts,
    content: ContentFacts,
    rows: dict[str, list[str]],
    project: str,
    info: str,
    faults: list[str],
) -> None:
    """One file into ``faults``: its RECORD row, its digest for the SBOM, its binary headers and exec bits,
    its parsed bytes (METADATA or WHEEL that is not UTF-8 raises :class:`ReleaseError`)."""
    if (fault := record_fault(member.name, rows.pop(member.name, None), content)) is not None:
        faults.append(fault)
    if not member.name.startswith(f"{info}/"):
        contents.payload[member.name] = content.sha256.hex()
    elif member.name.startswith(f"{info}/{SBOM_DIR}/") and content.data is not None:
        contents.sboms[member.name] = content.data
    if content.binary:  # a program must run once installed; a header that cannot be read is a fault
        if content.inspect_fault is not None:
            faults.append(content.inspect_fault)
        elif content.info is not None:
            contents.binaries.append(content.info)
        if (content.info is None or needs_exec_bit(content.info)) and not member.mode & 0o111:
            faults.append(f"{member.name} is a program without exec bits")
    parsed = None if content.data is None else _take_parsed(contents, wheel, member.name, content.data, project, info)
    if parsed is not None:
        faults.append(parsed)


def wheel_contents(wheel: WheelFacts, project: str, version: CodexVersion) -> tuple[WheelContents, list[str]]:
    """One wheel of ``project`` judged member by member, in its own order: layout, RECORD, binaries, metadata.

    An unreadable wheel, a missing or broken RECORD, or the first file whose bytes could not be read ends
    the judgement there with that fault (what follows would only repeat it). METADATA and WHEEL must exist
    (unless an earlier fault explains their absence) and METADATA must name ``project`` at ``version``.
    """
    contents = WheelContents()
    faults: list[str] = []
    if wheel.unreadable is not None:
        faults.append(wheel.unreadable)
    else:
        _judge_members(contents, wheel, project, version, faults)
    info = dist_info(project, version)
    for what, found in (("METADATA", contents.metadata), ("WHEEL", contents.wheel)):
        if found is None and not faults:
            faults.append(f"no {info}/{what}")
    if contents.metadata is not None and (
        canonicalize_name(contents.metadata.get("Name", "")) != project
        or contents.metadata.get("Version") != version.pep440
    ):
        faults.append(f"METADATA says {contents.metadata.get('Name')} {contents.metadata.get('Version')}")
    return contents, faults


def _unread(wheel: WheelFacts, member: MemberFacts) -> str:
    """The fault of a file the scanner could not read."""
    return member.read_fault or f"{wheel.file}:{member.name}: its bytes were not read"


def _judge_members(
    contents: WheelContents, wheel: WheelFacts, project: str, version: CodexVersion, faults: list[str]
) -> None:
    info = dist_info(project, version)
    for member in wheel.members:
        if (fault := layout_fault(member.name, PACKAGES[project], info, project)) is not None:
            faults.append(fault)
    record_name = f"{info}/RECORD"
    record = next((m for m in wheel.members if m.name == record_name and not m.is_dir), None)
    if record is None:
        faults.append(f"no {record_name}")
        return
    if record.content is None or record.content.data is None:
        faults.append(_unread(wheel, record))
        return
    try:
        rows = record_rows(record.content.data, f"{wheel.file}:{record_name}")
        for member in wheel.members:
            if member.is_dir:
                continue
            if member is record:
                rows.pop(record_name, None)
                continue
            if member.content is None:
                faults.append(_unread(wheel, member))
                return
            _take_member(contents, wheel, member, member.content, rows, project, info, faults)
    except ReleaseError as exc:
        faults.append(str(exc))
        return
    faults.extend(f"RECORD lists {missing}, which is not in the wheel" for missing in rows)


# --------------------------------------------------------------------------------------------------
# The runtime wheel
# --------------------------------------------------------------------------------------------------


def sbom_faults(contents: WheelContents, version: CodexVersion, target: Target) -> list[str]:
    """A runtime wheel carries exactly one SBOM (PEP 770) that lists exactly its payload with true hashes,
    naming the npm platform package of the wheel's own target: a binary swapped after the build with a
    rewritten RECORD fails here."""
    if len(contents.sboms) != 1:
        found = ", ".join(sorted(contents.sboms)) or "none"
        return [
            f"a runtime wheel carries exactly one SBOM in .dist-info/{SBOM_DIR}/ (found {found}): "
            "rebuild it with stage-runtime"
        ]
    ((name, document),) = contents.sboms.items()
    npm_version = f"{version.semver}-{target.npm_suffix}"
    return [
        f"{name}: {fault}" for fault in check_sbom(document, version.pep440, contents.payload, npm_version=npm_version)
    ]


def runtime_wheel_report(
    file: DistFile, wheel: WheelFacts, version: CodexVersion
) -> tuple[ArtifactReport, str | None, VariantFacts | None]:
    """One runtime wheel: its members (:func:`wheel_contents`), then WHEEL (``Root-Is-Purelib: false``, tag
    lines equal to the filename's), the bundled ``codex-package.json`` at ``version`` naming a known target,
    the SBOM, and the platform tags: each one honoured by the binaries (:func:`tag_problem`) and together
    exactly what the binaries earn. Returns the report, the target and the facts the set rule needs."""
    platforms = {tag.platform for tag in file.tags}
    report = ArtifactReport(file.name, "runtime wheel", size=wheel.size, tags=".".join(sorted(platforms)))
    contents, report.faults = wheel_contents(wheel, RUNTIME_DISTRIBUTION, version)
    if contents.wheel is not None:
        if contents.wheel.get("Root-Is-Purelib", "").strip().lower() != "false":
            report.faults.append("WHEEL must say Root-Is-Purelib: false")
        if set(contents.wheel.get_all("Tag", [])) != {str(tag) for tag in file.tags}:
            report.faults.append("WHEEL Tag lines differ from the filename's tags")
    if contents.manifest is None:
        if not report.faults:
            report.faults.append(f"no {MANIFEST}")
        return report, None, None
    triple = str(contents.manifest.get("target"))
    try:
        target = get_target(triple)
        report.target = triple
        try:
            bundled = parse_codex_version(str(contents.manifest.get("version")))
        except ReleaseError:
            bundled = None
        if bundled != version:
            report.faults.append(f"bundled codex-package.json is version {contents.manifest.get('version')}")
        report.faults.extend(sbom_faults(contents, version, target))
        derived = derive_platform_tags(contents.binaries, target)
        problems = [
            f"tag {part}: {p}" for part in sorted(platforms) if (p := tag_problem(part, contents.binaries, target))
        ]
        report.faults.extend(problems)
        if set(derived) != platforms and not problems:
            report.faults.append(f"tags {report.tags} but the binaries earn {'.'.join(derived)}")
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return report, None, None
    path_dir = str(contents.manifest.get("pathDir") or "codex-path")
    facts = VariantFacts(file.name, frozenset(platforms), tuple(contents.binaries), path_dir, contents.helpers)
    report.variant = str((contents.helpers or {}).get("variant", ""))
    return report, triple, facts


# --------------------------------------------------------------------------------------------------
# The SDK
# --------------------------------------------------------------------------------------------------


def requires_runtime(metadata: Message, version: CodexVersion) -> list[str]:
    """The SDK requires exactly ``openai-codex-cli-bin==V``: no marker (which could drop it on some
    platforms), no extra, no URL (which would install something the index never checked)."""
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
        return [f"must require exactly {expected}, no marker or extra (found {found})"]
    return []


def generated_from(source: bytes | None, where: str, version: CodexVersion) -> list[str]:
    """The SDK's generated types were made from the release's runtime: an SDK whose pin and version say X
    but whose protocol types say another runtime would be published for good (the index never lets a file
    be replaced)."""
    if source is None:
        return [f"no {GENERATED_INIT}: rebuild the SDK with stage-sdk --dist-dir"]
    try:
        generated = generated_codex_version(source, where)
    except ReleaseError as exc:
        return [str(exc)]
    if generated != version:
        return [
            f"{GENERATED_INIT} says CODEX_VERSION {generated}, not {version}: the types come from another "
            "runtime; run 'codex-release generate-types' and rebuild the SDK"
        ]
    return []


def sdk_wheel_report(wheel: WheelFacts, version: CodexVersion) -> ArtifactReport:
    """The SDK wheel: its members (:func:`wheel_contents`), pure (``Root-Is-Purelib: true``), the pin, the
    generated types."""
    report = ArtifactReport(wheel.file, "sdk wheel", tags="py3-none-any", size=wheel.size)
    contents, report.faults = wheel_contents(wheel, SDK_DISTRIBUTION, version)
    if contents.wheel is not None and contents.wheel.get("Root-Is-Purelib", "").strip().lower() != "true":
        report.faults.append("the SDK wheel must be pure (Root-Is-Purelib: true)")
    if contents.metadata is not None:
        report.faults.extend(requires_runtime(contents.metadata, version))
        report.faults.extend(generated_from(contents.generated, f"{wheel.file}:{GENERATED_INIT}", version))
    return report


def sdk_sdist_report(sdist: SdistFacts, version: CodexVersion) -> ArtifactReport:
    """The SDK sdist: PKG-INFO at ``version``, the pin, the generated types."""
    report = ArtifactReport(sdist.file, "sdk sdist", size=sdist.size)
    if sdist.unreadable is not None or sdist.metadata is None:
        report.faults.append(sdist.unreadable or f"{sdist.file}: not read")
        return report
    if sdist.metadata.get("Version") != version.pep440:
        report.faults.append(f"PKG-INFO says version {sdist.metadata.get('Version')}, not {version}")
    report.faults.extend(requires_runtime(sdist.metadata, version))
    report.faults.extend(generated_from(sdist.generated, f"{sdist.file}:src/{GENERATED_INIT}", version))
    return report


# --------------------------------------------------------------------------------------------------
# The set
# --------------------------------------------------------------------------------------------------


def sort_dist(listing: DistListing, version: CodexVersion, dist_dir: Path) -> SortedDist:
    """Which file of DIST is what. The runtime is wheel-only (a runtime sdist must never ship); everything
    is at ``version``; nothing but the two distributions, and one SDK wheel and one SDK sdist (a second one
    would not be judged). Entries named like artifacts that are not regular
    files are faults of the listing (:func:`codex_release.core.dist.list_dist`, never opened)."""
    faults: list[str] = list(listing.faults)
    runtime_wheels: list[DistFile] = []
    packaged: list[DistFile] = []
    sdk_files: dict[str, DistFile] = {}
    for file in listing.files:
        if file.project == RUNTIME_DISTRIBUTION and file.kind == "sdist":
            faults.append(f"{file.name}: the runtime is wheel-only, a runtime sdist must never ship: delete it")
            continue
        packaged.append(file)
        if str(file.version) != version.pep440:
            faults.append(f"{file.name} is version {file.version}, not {version}: remove it from {dist_dir}")
        elif file.project == RUNTIME_DISTRIBUTION:
            runtime_wheels.append(file)
        elif file.project == SDK_DISTRIBUTION:
            if file.kind in sdk_files:  # one SDK wheel and one sdist: a second would go unjudged and be uploaded
                faults.append(
                    f"{file.name}: a second SDK {file.kind} beside {sdk_files[file.kind].name}; a release has one: "
                    f"remove the stray one from {dist_dir}"
                )
                continue
            sdk_files[file.kind] = file
        else:
            faults.append(f"{file.name} is not part of the release: remove it from {dist_dir}")
    return SortedDist(
        tuple(faults), tuple(runtime_wheels), sdk_files.get("wheel"), sdk_files.get("sdist"), tuple(packaged)
    )


def size_faults(artifacts: Sequence[ArtifactReport], limits: SizeLimits) -> tuple[list[str], str]:
    """Each file against the index's per-file limit (a fault on the file), the total against the project's:
    a file the index would refuse fails here, before the first upload."""
    for report in artifacts:
        if (fault := limits.file_fault(report.size)) is not None:
            report.faults.append(fault)
    sizes = {report.file: report.size for report in artifacts}
    total = limits.total_fault(sum(sizes.values()))
    return ([total] if total else []), limits.summary(sizes)


def judge(
    dist: SortedDist, facts: ReleaseFacts, version: CodexVersion, *, require_sdk: bool, limits: SizeLimits
) -> Verdict:
    """The release: every artifact, then the set. Per target exactly the wheels its binaries call for (one,
    or full + lean where an optional ``codex-path/`` helper narrows the tags:
    :func:`codex_release.core.variants.variant_faults`); the SDK wheel and sdist when present (or required);
    ``twine check --strict`` verdicts on their files; sizes against ``limits``."""
    faults = list(dist.faults)
    artifacts: list[ArtifactReport] = []
    seen: dict[str, list[VariantFacts]] = {}
    for file, wheel in zip(dist.runtime_wheels, facts.runtime_wheels, strict=True):
        report, triple, variant = runtime_wheel_report(file, wheel, version)
        artifacts.append(report)
        if triple is not None:
            seen.setdefault(triple, [])
            if variant is not None:
                seen[triple].append(variant)
    for target in TARGETS:
        if target.triple not in seen:
            faults.append(f"no runtime wheel for {target.triple}: stage it with stage-runtime --wheel-dir")
        else:
            faults.extend(variant_faults(target, seen[target.triple]))
    if facts.sdk_wheel is not None:
        artifacts.append(sdk_wheel_report(facts.sdk_wheel, version))
    if facts.sdk_sdist is not None:
        artifacts.append(sdk_sdist_report(facts.sdk_sdist, version))
    if require_sdk:
        faults.extend(
            f"no SDK {kind} for {version}: build it with stage-sdk --dist-dir"
            for kind, file in (("wheel", dist.sdk_wheel), ("sdist", dist.sdk_sdist))
            if file is None
        )
    for report in artifacts:
        if report.file in facts.twine:
            report.faults.append(facts.twine[report.file])
    if "*" in facts.twine:
        faults.append(facts.twine["*"])
    totals, sizes = size_faults(artifacts, limits)
    faults.extend(totals)
    return Verdict(artifacts, faults, sizes)
