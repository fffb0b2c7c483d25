"""``verify``: the release's artifacts are exactly the expected set, and each one is sound.

Checks, per runtime wheel: name and version, one wheel per target, WHEEL (``Root-Is-Purelib: false``,
tag lines equal to the filename's), the platform tags equal to what the binaries inside earn, RECORD
complete with matching sha256 and sizes, executable bits on every ELF/Mach-O/PE member, the bundled
``codex-package.json`` at the same version. For the SDK: wheel and sdist at the same version with
exactly one ``openai-codex-cli-bin==V`` requirement. No runtime sdist. ``twine check --strict`` on all.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from codex_release import processes
from codex_release.artifact_metadata import runtime_pins, sdist_metadata, wheel_metadata
from codex_release.binaries import inspect_tree
from codex_release.errors import ReleaseError
from codex_release.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.platform_tags import derive_platform_tags, tag_problem
from codex_release.targets import TARGETS, get_target
from codex_release.versions import CodexVersion, parse_codex_version

__all__ = ["ArtifactReport", "VerifyReport", "verify_dist"]

_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca")
_MANIFEST = "codex_cli_bin/vendor/codex-package.json"


@dataclass
class ArtifactReport:
    """One file of the dist directory and what is wrong with it."""

    file: str
    kind: str
    target: str = ""
    tags: str = ""
    size: int = 0
    faults: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    artifacts: list[ArtifactReport]
    faults: list[str]
    """Faults of the set as a whole (missing or duplicate targets, stray files)."""

    @property
    def ok(self) -> bool:
        return not self.faults and not any(a.faults for a in self.artifacts)

    def table(self) -> str:
        rows = [("file", "kind", "target", "size", "status")]
        for a in self.artifacts:
            status = "ok" if not a.faults else "FAIL: " + "; ".join(a.faults)
            rows.append((a.file, a.kind, a.target or "-", f"{a.size / 1e6:.1f} MB", status))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(widths[i]) if i < 4 else c for i, c in enumerate(r)) for r in rows]
        lines += [f"FAIL: {fault}" for fault in self.faults]
        lines.append("verify: OK" if self.ok else "verify: FAILED")
        return "\n".join(lines)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _check_record(zf: zipfile.ZipFile, report: ArtifactReport, binaries_dir: Path) -> None:
    names = [info.filename for info in zf.infolist() if not info.is_dir()]
    record_name = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
    if record_name is None:
        report.faults.append("no RECORD")
        return
    rows = {row[0]: row for row in csv.reader(io.StringIO(zf.read(record_name).decode())) if row}
    for info in zf.infolist():
        if info.is_dir() or info.filename == record_name:
            continue
        row = rows.pop(info.filename, None)
        if row is None or len(row) != 3 or not row[1].startswith("sha256="):
            report.faults.append(f"{info.filename} has no sha256 RECORD entry")
            continue
        hasher = hashlib.sha256()
        head = b""
        out = None
        with zf.open(info) as member:
            while chunk := member.read(1 << 20):
                if not head:
                    head = chunk[:4]
                    if head.startswith(_MAGICS):
                        path = binaries_dir / info.filename
                        path.parent.mkdir(parents=True, exist_ok=True)
                        out = open(path, "wb")  # noqa: SIM115 - closed below
                hasher.update(chunk)
                if out is not None:
                    out.write(chunk)
        if out is not None:
            out.close()
            if not (info.external_attr >> 16) & 0o111:
                report.faults.append(f"{info.filename} is a binary without exec bits")
        if row[1] != f"sha256={_b64(hasher.digest())}" or row[2] != str(info.file_size):
            report.faults.append(f"RECORD hash/size mismatch for {info.filename}")
    rows.pop(record_name, None)
    for missing in rows:
        report.faults.append(f"RECORD lists {missing}, which is not in the wheel")


def _verify_runtime_wheel(path: Path, version: CodexVersion) -> tuple[ArtifactReport, str | None]:
    report = ArtifactReport(path.name, "runtime wheel", size=path.stat().st_size)
    _, _, _, file_tags = parse_wheel_filename(path.name)
    platforms = {tag.platform for tag in file_tags}
    report.tags = ".".join(sorted(platforms))
    triple: str | None = None
    try:
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory(prefix="verify-") as tmp:
            wheel = wheel_metadata(zf, "WHEEL")
            if wheel.get("Root-Is-Purelib", "").strip().lower() != "false":
                report.faults.append("WHEEL must say Root-Is-Purelib: false")
            if set(wheel.get_all("Tag", [])) != {str(tag) for tag in file_tags}:
                report.faults.append("WHEEL Tag lines differ from the filename's tags")
            metadata = wheel_metadata(zf)
            if metadata["Name"] != RUNTIME_DISTRIBUTION or metadata["Version"] != version.pep440:
                report.faults.append(f"METADATA says {metadata['Name']} {metadata['Version']}")
            manifest = json.loads(zf.read(_MANIFEST))
            triple = str(manifest.get("target"))
            target = get_target(triple)
            report.target = triple
            if parse_codex_version(str(manifest.get("version"))) != version:
                report.faults.append(f"bundled codex-package.json is version {manifest.get('version')}")
            _check_record(zf, report, Path(tmp))
            infos = inspect_tree(Path(tmp))
            derived = derive_platform_tags(infos, target)
            problems = [f"tag {part}: {p}" for part in sorted(platforms) if (p := tag_problem(part, infos, target))]
            report.faults.extend(problems)
            if set(derived) != platforms and not problems:
                report.faults.append(f"tags {report.tags} but the binaries earn {'.'.join(derived)}")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        report.faults.append(f"unreadable wheel ({exc})")
    except ReleaseError as exc:
        report.faults.append(str(exc))
    return report, triple


def _requires_runtime(metadata: Message, version: CodexVersion, report: ArtifactReport) -> None:
    pins = runtime_pins(metadata)
    expected = f"=={version.pep440}"
    if len(pins) != 1 or str(pins[0].specifier) != expected:
        found = ", ".join(str(p) for p in pins) or "none"
        report.faults.append(f"must require exactly {RUNTIME_DISTRIBUTION}{expected} (found {found})")


def _verify_sdk_wheel(path: Path, version: CodexVersion) -> ArtifactReport:
    report = ArtifactReport(path.name, "sdk wheel", tags="py3-none-any", size=path.stat().st_size)
    try:
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory(prefix="verify-") as tmp:
            metadata = wheel_metadata(zf)
            _check_record(zf, report, Path(tmp))
            if wheel_metadata(zf, "WHEEL").get("Root-Is-Purelib", "").strip().lower() != "true":
                report.faults.append("the SDK wheel must be pure (Root-Is-Purelib: true)")
    except (zipfile.BadZipFile, KeyError) as exc:
        report.faults.append(f"unreadable wheel ({exc})")
        return report
    except ReleaseError as exc:
        report.faults.append(str(exc))
        return report
    _requires_runtime(metadata, version, report)
    return report


def _verify_sdk_sdist(path: Path, version: CodexVersion) -> ArtifactReport:
    report = ArtifactReport(path.name, "sdk sdist", size=path.stat().st_size)
    try:
        metadata = sdist_metadata(path)
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


def verify_dist(dist_dir: Path, version: CodexVersion, *, require_sdk: bool = False) -> VerifyReport:
    """Verify every artifact of release ``version`` in ``dist_dir``."""
    faults: list[str] = []
    runtime_wheels: list[Path] = []
    artifacts: list[ArtifactReport] = []
    packaged: list[Path] = []
    sdk_files: dict[str, Path] = {}
    for path in sorted(dist_dir.iterdir()):
        if path.suffix == ".whl":
            try:
                name, ver, _, _ = parse_wheel_filename(path.name)
            except InvalidWheelFilename:
                faults.append(f"{path.name} is not a valid wheel file name")
                continue
        elif path.name.endswith(".tar.gz"):
            try:
                name, ver = parse_sdist_filename(path.name)
            except InvalidSdistFilename:
                faults.append(f"{path.name} is not a valid sdist file name")
                continue
            if name == RUNTIME_DISTRIBUTION:
                faults.append(f"{path.name}: the runtime is wheel-only, a runtime sdist must never ship: delete it")
                continue
        else:
            continue
        packaged.append(path)
        if str(ver) != version.pep440:
            faults.append(f"{path.name} is version {ver}, not {version}: remove it from {dist_dir}")
        elif name == RUNTIME_DISTRIBUTION:
            runtime_wheels.append(path)
        elif name == SDK_DISTRIBUTION:
            sdk_files["wheel" if path.suffix == ".whl" else "sdist"] = path
        else:
            faults.append(f"{path.name} is not part of the release: remove it from {dist_dir}")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda p: _verify_runtime_wheel(p, version), runtime_wheels))
    seen: dict[str, str] = {}
    for report, triple in results:
        artifacts.append(report)
        if triple is not None and triple in seen:
            faults.append(f"two runtime wheels for {triple}: {seen[triple]} and {report.file}")
        if triple is not None:
            seen[triple] = report.file
    for target in TARGETS:
        if target.triple not in seen:
            faults.append(f"no runtime wheel for {target.triple}: stage it with stage-runtime --wheel-dir")
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
    twine = _twine_check(packaged)
    for report in artifacts:
        if report.file in twine:
            report.faults.append(twine[report.file])
    if "*" in twine:
        faults.append(twine["*"])
    return VerifyReport(artifacts, faults)
