"""verify's scan reads members with the same compressed bytes once, and its twine check skips twine's hashing.

* Shared members: members of equal compression method, CRC-32 and sizes are candidates; the first is
  inflated and the others are compared byte for byte with its compressed bytes. An identical one shares
  the digest (its binary headers are still read under its own name, its own exec bits checked); one that
  differs (same CRC and sizes, other bytes) is read on its own, so a RECORD copied from the other wheel
  does not hide it.
* twine: ``codex_release.checks.twine_check`` gives the same verdicts as stock ``python -m twine check
  --strict`` on good and broken distributions.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import struct
import threading
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import twine.package

from codex_release.archives import WheelArchive, WheelMember
from codex_release.checks import twine_check
from codex_release.checks.publisher_twine import check_files, toolkit_twine
from codex_release.checks.verify import verify_dist
from codex_release.checks.verify.rules import ArtifactReport, wheel_contents
from codex_release.checks.verify.scan import scan_wheels, twine_verdicts
from codex_release.core.pins import RUNTIME_DISTRIBUTION
from codex_release.core.versions import CodexVersion, parse_codex_version
from tests.checkout import pinned_runtime
from tests.synthetic_binaries import make_elf

V = parse_codex_version("0.169.0")
DIST_INFO = f"openai_codex_cli_bin-{V.pep440}.dist-info"
PINNED = pinned_runtime()  # of the synthetic release (dist_copy) that ARM_FULL and ARM_LEAN name
ARM_FULL = f"openai_codex_cli_bin-{PINNED}-py3-none-manylinux_2_18_aarch64.whl"
ARM_LEAN = (
    f"openai_codex_cli_bin-{PINNED}-py3-none-musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
)
CODEX = "codex_cli_bin/vendor/bin/codex"


# ------------------------------------------------------------------------------------------- helpers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write_wheel(
    path: Path, members: dict[str, tuple[bytes, int]], *, record: dict[str, bytes] | None = None, level: int = 6
) -> Path:
    """A runtime-project wheel holding ``members`` (name -> (bytes, mode)) and a true RECORD, except that a
    name in ``record`` gets the hash of those bytes instead."""
    metadata = f"Metadata-Version: 2.1\nName: openai-codex-cli-bin\nVersion: {V.pep440}\n".encode()
    wheel = b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
    files = {**members, f"{DIST_INFO}/METADATA": (metadata, 0o644), f"{DIST_INFO}/WHEEL": (wheel, 0o644)}
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\n")
    for name, (data, _) in files.items():
        listed = (record or {}).get(name, data)
        rows.writerow((name, f"sha256={_b64(listed)}", len(data)))
    rows.writerow((f"{DIST_INFO}/RECORD", "", ""))
    files[f"{DIST_INFO}/RECORD"] = (out.getvalue().encode(), 0o644)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=level)
    return path


def _scan(*wheels: Path) -> list[ArtifactReport]:
    reports = []
    for facts in scan_wheels(wheels, RUNTIME_DISTRIBUTION, V):
        _, faults = wheel_contents(facts, RUNTIME_DISTRIBUTION, V)
        reports.append(ArtifactReport(facts.file, "runtime wheel", faults=faults))
    return reports


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """(wheel file name, member name) -> how often the scan inflated it."""
    seen: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    original = WheelArchive.inflate

    def counting(self: WheelArchive, member: WheelMember | str, raw: memoryview | bytes) -> bytes | bytearray:
        name = member if isinstance(member, str) else member.name
        with lock:
            seen[self.where, name] += 1
        return original(self, member, raw)

    monkeypatch.setattr(WheelArchive, "inflate", counting)
    return seen


def _member(wheel: Path, name: str) -> WheelMember:
    with WheelArchive(wheel) as archive:
        found = archive.get(name)
    assert found is not None
    return found


def _reduce(vector: tuple[int, int], basis: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """Eliminate ``vector``'s CRC bits against ``basis`` (leading bit -> (CRC bits, patch bits))."""
    crc_bits, patch_bits = vector
    for lead in sorted(basis, reverse=True):
        if crc_bits >> lead & 1:
            crc_bits, patch_bits = crc_bits ^ basis[lead][0], patch_bits ^ basis[lead][1]
    return crc_bits, patch_bits


def _forge_crc(data: bytes, target: int) -> bytes:
    """``data`` with its last four bytes replaced so that its CRC-32 is ``target`` (CRC-32 is affine over
    GF(2) in those bits, and the map from them to the CRC is a bijection: solve the 32x32 system)."""
    head = data[:-4]
    base = zipfile.crc32(head + bytes(4))
    basis: dict[int, tuple[int, int]] = {}
    for bit in range(32):
        column = zipfile.crc32(head + (1 << bit).to_bytes(4, "little")) ^ base
        crc_bits, patch_bits = _reduce((column, 1 << bit), basis)
        if crc_bits:
            basis[crc_bits.bit_length() - 1] = (crc_bits, patch_bits)
    left, patch = _reduce((target ^ base, 0), basis)
    assert left == 0
    forged = head + patch.to_bytes(4, "little")
    assert zipfile.crc32(forged) == target
    return forged


def _flip_data_byte(wheel: Path, name: str) -> None:
    """Change one byte in the middle of ``name``'s compressed bytes, in place: central directory (CRC-32,
    sizes) and local header untouched."""
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo(name)
    with open(wheel, "r+b") as fh:
        fh.seek(info.header_offset)
        header = fh.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        where = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
        fh.seek(where)
        byte = fh.read(1)
        fh.seek(where)
        fh.write(bytes([byte[0] ^ 0x55]))


def _clear_exec_bits(wheel: Path, name: str) -> None:
    """Set ``name``'s mode to 0644 in the central directory, in place: its data stays byte for byte."""
    data = bytearray(wheel.read_bytes())
    entry = data.find(b"PK\x01\x02")
    encoded = name.encode()
    while entry != -1:
        (name_len,) = struct.unpack_from("<H", data, entry + 28)
        if data[entry + 46 : entry + 46 + name_len] == encoded:
            struct.pack_into("<I", data, entry + 38, 0o100644 << 16)
            wheel.write_bytes(bytes(data))
            return
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{name} not in the central directory of {wheel}")


# ------------------------------------------------------------------------------- shared members


def test_identical_members_are_inflated_once_and_judged_under_their_own_names(
    tmp_path: Path, inflated: Counter[tuple[str, str]]
) -> None:
    elf = make_elf("x86_64") + os.urandom(200_000)  # above the zlib cut-off: libdeflate inflates it
    one = _write_wheel(tmp_path / "one.whl", {"codex_cli_bin/a": (elf, 0o755)})
    two = _write_wheel(tmp_path / "two.whl", {"codex_cli_bin/b": (elf, 0o755)})
    assert _member(one, "codex_cli_bin/a").content_key == _member(two, "codex_cli_bin/b").content_key
    judged = [
        wheel_contents(facts, RUNTIME_DISTRIBUTION, V) for facts in scan_wheels([one, two], RUNTIME_DISTRIBUTION, V)
    ]
    scans = [contents for contents, _ in judged]
    assert [faults for _, faults in judged] == [[], []]
    assert inflated["one.whl", "codex_cli_bin/a"] + inflated["two.whl", "codex_cli_bin/b"] == 1
    assert scans[0].payload["codex_cli_bin/a"] == scans[1].payload["codex_cli_bin/b"] == hashlib.sha256(elf).hexdigest()
    assert [b.label for b in scans[0].binaries] == ["codex_cli_bin/a"]
    assert [b.label for b in scans[1].binaries] == ["codex_cli_bin/b"]
    assert scans[0].binaries[0].describe() == scans[1].binaries[0].describe()


def test_a_duplicate_with_equal_crc_and_sizes_but_other_bytes_is_read_on_its_own(
    tmp_path: Path, inflated: Counter[tuple[str, str]]
) -> None:
    """Same method, CRC-32 and sizes (forged), other bytes: the second wheel's RECORD, copied from the first,
    must not pass, and a true RECORD must not fail."""
    original = os.urandom(100_000)
    tampered = _forge_crc(original[:50_000] + b"evil" + original[50_004:], zipfile.crc32(original))
    blob = "codex_cli_bin/blob"
    # level 0: stored deflate blocks, so equal lengths give equal compressed sizes
    first = _write_wheel(tmp_path / "first.whl", {blob: (original, 0o644)}, level=0)
    copied = _write_wheel(tmp_path / "copied.whl", {blob: (tampered, 0o644)}, record={blob: original}, level=0)
    honest = _write_wheel(tmp_path / "honest.whl", {blob: (tampered, 0o644)}, level=0)
    assert _member(first, blob).content_key == _member(copied, blob).content_key == _member(honest, blob).content_key
    reports = _scan(first, copied, honest)
    assert reports[0].faults == []
    assert reports[1].faults == [f"RECORD hash/size mismatch for {blob}"]
    assert reports[2].faults == []
    # neither matches the first's compressed bytes: each is inflated on its own
    assert inflated["first.whl", blob] == inflated["copied.whl", blob] == inflated["honest.whl", blob] == 1


def test_the_lean_wheel_shares_the_full_wheels_members_and_verifies(
    dist_copy: Path, pinned_version: CodexVersion, inflated: Counter[tuple[str, str]]
) -> None:
    """The real full + lean pair: stage-runtime reuses the full wheel's compressed members in the lean one."""
    assert _member(dist_copy / ARM_FULL, CODEX).content_key == _member(dist_copy / ARM_LEAN, CODEX).content_key
    report = verify_dist(dist_copy, pinned_version)
    assert report.ok, report.table()
    assert inflated[ARM_FULL, CODEX] + inflated[ARM_LEAN, CODEX] == 1


def test_a_tampered_copy_of_a_shared_member_is_caught(dist_copy: Path, pinned_version: CodexVersion) -> None:
    """One byte of the lean wheel's codex changed behind an unchanged central directory: the lean wheel
    fails, the full one (whose bytes it no longer matches) still verifies."""
    _flip_data_byte(dist_copy / ARM_LEAN, CODEX)
    report = verify_dist(dist_copy, pinned_version)
    by_file = {a.file: a.faults for a in report.artifacts}
    assert by_file[ARM_FULL] == []
    read_fault = by_file[ARM_LEAN][0]  # the scan of the wheel stops there (the rest follows from it)
    assert read_fault.startswith(f"{ARM_LEAN}:{CODEX}: ")
    assert "CRC-32 or size mismatch" in read_fault or "corrupt DEFLATE data" in read_fault


def test_a_shared_member_without_exec_bits_is_a_fault_of_that_wheel_only(
    dist_copy: Path, pinned_version: CodexVersion, inflated: Counter[tuple[str, str]]
) -> None:
    _clear_exec_bits(dist_copy / ARM_LEAN, CODEX)
    report = verify_dist(dist_copy, pinned_version)
    by_file = {a.file: a.faults for a in report.artifacts}
    assert by_file[ARM_FULL] == []
    assert by_file[ARM_LEAN] == [f"{CODEX} is a program without exec bits"]
    assert inflated[ARM_FULL, CODEX] + inflated[ARM_LEAN, CODEX] == 1  # still shared: only the mode differs


# ------------------------------------------------------------------------------------------- twine


def _edit_metadata(source: Path, dest: Path, edit: str) -> Path:
    """``source`` with its METADATA's headers kept and ``edit`` applied: ``rst`` (a broken reST description),
    ``no-type`` (no Description-Content-Type), ``bad-field`` (an unknown field twine refuses)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".dist-info/METADATA"):
                headers, _, body = data.decode().partition("\n\n")
                kept = [line for line in headers.split("\n") if not line.startswith("Description-Content-Type")]
                if edit == "rst":
                    kept.append("Description-Content-Type: text/x-rst")
                    body = "An ``unclosed inline literal is a docutils warning.\n"
                elif edit == "bad-field":
                    kept.append("Frobnicate: yes")
                data = ("\n".join(kept) + "\n\n" + body).encode()
            dst.writestr(info, data)
    return dest


def _sdk_wheel(dist: Path) -> Path:
    (found,) = [p for p in dist.iterdir() if p.name.startswith("openai_codex-") and p.suffix == ".whl"]
    return found


@pytest.fixture
def twine_inputs(dist_copy: Path, tmp_path: Path) -> dict[str, Path]:
    sdk = _sdk_wheel(dist_copy)
    (sdist,) = dist_copy.glob("openai_codex-*.tar.gz")
    bad = tmp_path / "bad"
    bad.mkdir()
    return {
        "sdk wheel": sdk,
        "sdk sdist": sdist,
        "runtime wheel": dist_copy / ARM_FULL,
        "broken rst": _edit_metadata(sdk, bad / f"rst-{sdk.name}", "rst"),
        "no content type": _edit_metadata(sdk, bad / f"notype-{sdk.name}", "no-type"),
        "bad field": _edit_metadata(sdk, bad / f"field-{sdk.name}", "bad-field"),
        "not a zip": _not_a_zip(bad / f"junk-{sdk.name}"),
    }


def _not_a_zip(path: Path) -> Path:
    path.write_bytes(b"this is not a zip archive")
    return path


def test_twine_check_without_hashing_gives_stock_twines_verdicts(twine_inputs: dict[str, Path]) -> None:
    names = ["sdk wheel", "sdk sdist", "runtime wheel", "broken rst", "no content type"]
    files = [twine_inputs[name] for name in names]
    tool = toolkit_twine()
    ours = twine_verdicts(files, tool)
    assert ours == check_files(files, tool, skip_hashing=False)
    assert set(ours) == {twine_inputs["broken rst"].name, twine_inputs["no content type"].name}
    assert "Inline literal start-string without end-string" in ours[twine_inputs["broken rst"].name]
    for refused in ("bad field", "not a zip"):  # twine stops at the file: one fault for the run
        ours = twine_verdicts([twine_inputs["sdk wheel"], twine_inputs[refused]], tool)
        assert ours == check_files([twine_inputs["sdk wheel"], twine_inputs[refused]], tool, skip_hashing=False)
        assert "*" in ours, refused
        assert ours["*"].startswith(f"{twine_inputs[refused].name}: twine "), ours
        assert "\n" not in ours["*"]
    # metadata that twine cannot read is blamed on the file (this twine reads ours), never on the publisher
    refusal = twine_verdicts([twine_inputs["bad field"]], tool)["*"]
    assert refusal.startswith(f"{twine_inputs['bad field'].name}: twine refuses it"), refusal
    assert refusal.endswith("the file is at fault, not the publisher")


def test_skip_hashing_replaces_only_the_hasher(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(twine.package.HashManager, "hash", twine.package.HashManager.hash)  # restored after
    missing = tmp_path / "missing.whl"
    with pytest.raises(FileNotFoundError):
        twine.package.HashManager(str(missing)).hash()
    assert twine_check.skip_hashing()
    twine.package.HashManager(str(missing)).hash()  # no longer opens the file


def test_verify_reports_a_twine_failure_on_the_file(dist_copy: Path, pinned_version: CodexVersion) -> None:
    sdk = _sdk_wheel(dist_copy)
    broken = _edit_metadata(sdk, dist_copy / f"{sdk.name}.tmp", "rst")
    shutil.move(broken, sdk)
    report = verify_dist(dist_copy, pinned_version)
    (faults,) = [a.faults for a in report.artifacts if a.file == sdk.name]
    assert any(f.startswith("twine check --strict failed") for f in faults), faults
