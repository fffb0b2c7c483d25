"""verify's rules alone: facts in, faults out, without building or reading a wheel.

:mod:`codex_release.checks.verify.rules` is what ``verify: OK`` means; these tests hand it facts written
out by hand (as :mod:`codex_release.checks.verify.scan` would gather them) and check the faults, a few per
family of rules. The module itself must stay pure: it imports nothing that reads files, runs children or
starts threads.
"""

from __future__ import annotations

import ast
import base64
import hashlib
from email.message import Message
from pathlib import Path

import pytest
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from codex_release.checks.index_limits import SizeLimits
from codex_release.checks.verify import rules
from codex_release.checks.verify.rules import (
    ContentFacts,
    MemberFacts,
    ReleaseFacts,
    WheelContents,
    WheelFacts,
    judge,
    layout_fault,
    record_fault,
    record_rows,
    requires_runtime,
    sbom_faults,
    sort_dist,
    wheel_contents,
)
from codex_release.core.dist import DistFile, DistListing
from codex_release.core.pins import GENERATED_INIT, RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.targets import TARGETS, get_target
from codex_release.core.versions import parse_codex_version
from codex_release.errors import ReleaseError

V = parse_codex_version("0.169.0")
RT_INFO = f"openai_codex_cli_bin-{V.pep440}.dist-info"
SDK_INFO = f"openai_codex-{V.pep440}.dist-info"
METADATA = f"Metadata-Version: 2.1\nName: openai-codex-cli-bin\nVersion: {V.pep440}\n".encode()
WHEEL = b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n"


def _row(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _content(name: str, data: bytes, *, binary: bool = False) -> ContentFacts:
    kept = data if rules.keeps_bytes(name, RUNTIME_DISTRIBUTION, V) else None
    return ContentFacts(hashlib.sha256(data).digest(), len(data), binary, data=kept)


def _wheel(
    files: dict[str, bytes],
    *,
    record: str | None = None,
    modes: dict[str, int] | None = None,
    unread: dict[str, str] | None = None,
    binaries: tuple[str, ...] = (),
) -> WheelFacts:
    """Facts of a runtime wheel holding ``files`` plus METADATA and WHEEL, with a true RECORD unless
    ``record`` gives its text; ``unread`` names files whose bytes could not be read (with the reader's fault)."""
    files = {f"{RT_INFO}/METADATA": METADATA, f"{RT_INFO}/WHEEL": WHEEL} | files
    if record is None:
        record = "\n".join([*(_row(n, d) for n, d in files.items()), f"{RT_INFO}/RECORD,,"]) + "\n"
    members = [
        MemberFacts(name, False, (modes or {}).get(name, 0o644), _content(name, data, binary=name in binaries))
        if name not in (unread or {})
        else MemberFacts(name, False, 0o644, read_fault=(unread or {})[name])
        for name, data in files.items()
    ]
    members.append(MemberFacts(f"{RT_INFO}/RECORD", False, 0o644, _content(f"{RT_INFO}/RECORD", record.encode())))
    return WheelFacts("w.whl", 1000, tuple(members))


def _faults(wheel: WheelFacts) -> list[str]:
    return wheel_contents(wheel, RUNTIME_DISTRIBUTION, V)[1]


# ------------------------------------------------------------------------------------------ layout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("codex_cli_bin/__init__.py", None),
        (f"{RT_INFO}/METADATA", None),
        ("codex_cli_bin/evil.pth", "codex_cli_bin/evil.pth is a .pth file"),
        ("x-1.data/scripts/run", "x-1.data/scripts/run is under a .data/ directory"),
        ("other/__init__.py", f"other/__init__.py lies outside codex_cli_bin/ and {RT_INFO}/"),
    ],
)
def test_layout_allows_only_the_package_and_its_dist_info(name: str, expected: str | None) -> None:
    fault = layout_fault(name, "codex_cli_bin", RT_INFO, RUNTIME_DISTRIBUTION)
    assert fault == expected if expected is None else fault is not None and fault.startswith(expected)


def test_a_stray_top_level_member_is_a_fault_of_the_wheel() -> None:
    assert _faults(_wheel({"codex_cli_bin/a": b"a", "evil.pth": b"import os"})) == [
        "evil.pth is a .pth file (it runs code at every interpreter start): a wheel must not ship one"
    ]


# ------------------------------------------------------------------------------------------ RECORD


def test_record_rows_refuses_what_does_not_name_each_file_once() -> None:
    assert record_rows(b"a,sha256=x,1\n\nb,,\n", "w:RECORD") == {"a": ["a", "sha256=x", "1"], "b": ["b", "", ""]}
    with pytest.raises(ReleaseError, match="w:RECORD is not UTF-8"):
        record_rows(b"\xff", "w:RECORD")
    with pytest.raises(ReleaseError, match="w:RECORD lists 'a' twice"):
        record_rows(b"a,sha256=x,1\na,sha256=x,1\n", "w:RECORD")


def test_record_fault_wants_the_true_sha256_and_size() -> None:
    content = _content("a", b"abc")
    assert record_fault("a", _row("a", b"abc").split(","), content) is None
    assert record_fault("a", None, content) == "a has no sha256 RECORD entry"
    assert record_fault("a", ["a", "md5=x", "3"], content) == "a has no sha256 RECORD entry"
    assert record_fault("a", _row("a", b"abd").split(","), content) == "RECORD hash/size mismatch for a"
    assert record_fault("a", [*_row("a", b"abc").split(",")[:2], "4"], content) == "RECORD hash/size mismatch for a"


def test_record_is_complete_and_every_row_has_a_file() -> None:
    files = {"codex_cli_bin/a": b"a"}
    listed = [_row("codex_cli_bin/gone", b"x"), _row(f"{RT_INFO}/METADATA", METADATA), _row(f"{RT_INFO}/WHEEL", WHEEL)]
    assert _faults(_wheel(files, record="\n".join(listed) + "\n")) == [
        "codex_cli_bin/a has no sha256 RECORD entry",
        "RECORD lists codex_cli_bin/gone, which is not in the wheel",
    ]


def test_without_record_nothing_else_is_judged() -> None:
    wheel = _wheel({"codex_cli_bin/a": b"a"})
    without = WheelFacts(wheel.file, wheel.size, wheel.members[:-1])
    assert _faults(without) == [f"no {RT_INFO}/RECORD"]


# -------------------------------------------------------------------------- reading stops the wheel


def test_the_first_unreadable_member_ends_the_wheels_judgement() -> None:
    wheel = _wheel(
        {"codex_cli_bin/a": b"a", "codex_cli_bin/b": b"b", "codex_cli_bin/c": b"c"},
        unread={"codex_cli_bin/b": "w.whl:codex_cli_bin/b: CRC-32 or size mismatch: the wheel is corrupt; rebuild it"},
        modes={"codex_cli_bin/c": 0o644},
        binaries=("codex_cli_bin/c",),  # a fault of its own if it were judged
    )
    assert _faults(wheel) == ["w.whl:codex_cli_bin/b: CRC-32 or size mismatch: the wheel is corrupt; rebuild it"]


def test_an_unreadable_wheel_is_its_one_fault() -> None:
    assert _faults(WheelFacts("w.whl", 10, unreadable="w.whl is not a readable zip archive (x): rebuild it")) == [
        "w.whl is not a readable zip archive (x): rebuild it"
    ]


# --------------------------------------------------------------------------------- binaries, metadata


def test_a_program_needs_exec_bits() -> None:
    files = {"codex_cli_bin/tool": b"\x7fELF...", "codex_cli_bin/run": b"\x7fELF..."}
    wheel = _wheel(files, modes={"codex_cli_bin/run": 0o755}, binaries=tuple(files))
    assert _faults(wheel) == ["codex_cli_bin/tool is a program without exec bits"]


def test_a_binary_whose_header_cannot_be_read_is_a_fault() -> None:
    wheel = _wheel({"codex_cli_bin/tool": b"\x7fELF"}, modes={"codex_cli_bin/tool": 0o755})
    member = wheel.members[0]
    assert member.content is not None
    broken = ContentFacts(member.content.sha256, member.content.size, True, inspect_fault="codex_cli_bin/tool: cut")
    wheel = WheelFacts(wheel.file, wheel.size, (MemberFacts(member.name, False, 0o755, broken), *wheel.members[1:]))
    assert _faults(wheel) == ["codex_cli_bin/tool: cut"]


def test_metadata_must_name_the_project_at_the_release_version() -> None:
    wheel = _wheel({"codex_cli_bin/a": b"a"})
    other = METADATA.replace(V.pep440.encode(), b"0.1.0")
    swapped = _wheel({"codex_cli_bin/a": b"a"} | {f"{RT_INFO}/METADATA": other})
    assert _faults(wheel) == []
    assert _faults(swapped) == ["METADATA says openai-codex-cli-bin 0.1.0"]
    no_wheel = WheelFacts("w.whl", 1, tuple(m for m in wheel.members if not m.name.endswith("/WHEEL")))
    assert _faults(no_wheel) == [f"RECORD lists {RT_INFO}/WHEEL, which is not in the wheel"]
    unlisted = [_row("codex_cli_bin/a", b"a"), _row(f"{RT_INFO}/METADATA", METADATA)]
    honest = _wheel({"codex_cli_bin/a": b"a"}, record="\n".join(unlisted) + "\n")
    honest = WheelFacts("w.whl", 1, tuple(m for m in honest.members if not m.name.endswith("/WHEEL")))
    assert _faults(honest) == [f"no {RT_INFO}/WHEEL"]  # only when no earlier fault explains it


def test_a_manifest_that_is_not_an_object_is_a_fault() -> None:
    assert _faults(_wheel({"codex_cli_bin/vendor/codex-package.json": b"[1]"})) == [
        "codex_cli_bin/vendor/codex-package.json is not a JSON object"
    ]


def test_a_runtime_wheel_carries_exactly_one_sbom() -> None:
    target = get_target("x86_64-unknown-linux-musl")
    assert sbom_faults(WheelContents(), V, target) == [
        "a runtime wheel carries exactly one SBOM in .dist-info/sboms/ (found none): rebuild it with stage-runtime"
    ]
    not_json = WheelContents(sboms={f"{RT_INFO}/sboms/x.json": b"{"})
    assert sbom_faults(not_json, V, target)[0].startswith(f"{RT_INFO}/sboms/x.json: the SBOM is not JSON")


# ------------------------------------------------------------------------------------------------- SDK


def _metadata(*requires: str) -> Message:
    message = Message()
    for line in requires:
        message["Requires-Dist"] = line
    return message


@pytest.mark.parametrize(
    "requires",
    [
        (),
        ("openai-codex-cli-bin>=0.169.0",),
        ("openai-codex-cli-bin==0.169.0; sys_platform == 'linux'",),
        ("openai-codex-cli-bin[x]==0.169.0",),
        ("openai-codex-cli-bin==0.169.0", "openai-codex-cli-bin==0.168.0"),
        ("openai-codex-cli-bin @ https://example.invalid/x.whl",),
    ],
)
def test_the_sdk_requires_exactly_the_runtime_of_the_release(requires: tuple[str, ...]) -> None:
    (fault,) = requires_runtime(_metadata(*requires), V)
    assert fault.startswith("must require exactly openai-codex-cli-bin==0.169.0, no marker or extra (found ")
    assert requires_runtime(_metadata("openai-codex-cli-bin==0.169.0", "pydantic>=2"), V) == []


def test_the_sdks_generated_types_come_from_the_release_runtime() -> None:
    assert rules.generated_from(b'CODEX_VERSION = "0.169.0"\n', "w:g", V) == []
    (other,) = rules.generated_from(b'CODEX_VERSION = "0.168.0"\n', "w:g", V)
    assert other.startswith(f"{GENERATED_INIT} says CODEX_VERSION 0.168.0, not 0.169.0")
    assert rules.generated_from(None, "w:g", V) == [f"no {GENERATED_INIT}: rebuild the SDK with stage-sdk --dist-dir"]


# ------------------------------------------------------------------------------------------------- set


def _file(name: str, project: str, version: str, *, kind: str = "wheel", tags: str = "py3-none-any") -> DistFile:
    return DistFile(
        Path("dist") / name,
        "wheel" if kind == "wheel" else "sdist",
        canonicalize_name(project),
        Version(version),
        frozenset(parse_tag(tags)) if kind == "wheel" else frozenset(),
    )


def test_sort_dist_refuses_a_runtime_sdist_other_versions_and_strays() -> None:
    files = (
        _file("openai_codex_cli_bin-0.169.0.tar.gz", RUNTIME_DISTRIBUTION, "0.169.0", kind="sdist"),
        _file("openai_codex_cli_bin-0.168.0-py3-none-any.whl", RUNTIME_DISTRIBUTION, "0.168.0"),
        _file("requests-0.169.0-py3-none-any.whl", "requests", "0.169.0"),
        _file("openai_codex-0.169.0-py3-none-any.whl", SDK_DISTRIBUTION, "0.169.0"),
    )
    dist = sort_dist(DistListing(Path("dist"), files, ("x.whl is a FIFO",)), V, Path("dist"))
    assert dist.faults == (
        "x.whl is a FIFO",
        "openai_codex_cli_bin-0.169.0.tar.gz: the runtime is wheel-only, a runtime sdist must never ship: delete it",
        "openai_codex_cli_bin-0.168.0-py3-none-any.whl is version 0.168.0, not 0.169.0: remove it from dist",
        "requests-0.169.0-py3-none-any.whl is not part of the release: remove it from dist",
    )
    assert dist.runtime_wheels == ()
    assert dist.sdk_wheel == files[3]
    assert dist.packaged == files[1:]


def test_judge_wants_every_target_the_sdk_when_required_and_honours_twine_and_sizes() -> None:
    sdk = _file("openai_codex-0.169.0-py3-none-any.whl", SDK_DISTRIBUTION, "0.169.0")
    dist = sort_dist(DistListing(Path("dist"), (sdk,), ()), V, Path("dist"))
    facts = ReleaseFacts((), WheelFacts(sdk.name, 2000, unreadable="bad zip"), None, {sdk.name: "twine: no"}, "t")
    verdict = judge(dist, facts, V, require_sdk=True, limits=SizeLimits(max_file=1000, max_total=1500))
    assert verdict.faults[: len(TARGETS)] == [
        f"no runtime wheel for {target.triple}: stage it with stage-runtime --wheel-dir" for target in TARGETS
    ]
    assert verdict.faults[len(TARGETS) :] == [
        "no SDK sdist for 0.169.0: build it with stage-sdk --dist-dir",
        SizeLimits(max_file=1000, max_total=1500).total_fault(2000),
    ]
    (report,) = verdict.artifacts
    assert report.faults[:2] == ["bad zip", "twine: no"]
    assert report.faults[2].startswith("0.0 MiB is above the index's per-file upload limit")


# -------------------------------------------------------------------------------------------- purity


def test_the_rules_module_reads_nothing_and_starts_nothing() -> None:
    """Only pure imports: no archive reader, no scanner, no child processes, no threads, no file system."""
    tree = ast.parse(Path(rules.__file__).read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    forbidden = (
        "codex_release.archives",
        "codex_release.processes",
        "codex_release.checks.verify.scan",
        "codex_release.checks.publisher_twine",
        "threading",
        "concurrent",
        "subprocess",
        "os",
        "shutil",
        "tarfile",
        "zipfile",
    )
    assert not {name for name in imported if name.split(".")[0] in forbidden or name.startswith(forbidden)}
