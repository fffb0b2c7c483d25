"""Hostile rows for the runtime wheel's SBOM (PEP 770): ``verify`` on wheels whose bill of materials is
missing or does not describe the wheel (see ``tests/hostile.py`` for what every row checks).

Every damaged wheel keeps a RECORD that is complete and true (the rows recompute it), so only the SBOM
check can catch the damage: a swapped binary with a rewritten RECORD is exactly what RECORD alone cannot
see. The control stages a fresh wheel with ``stage-runtime --wheel-dir`` and verifies the set.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from codex_release.steps.stage_runtime import stage_runtime
from tests.checkout import CHECKOUT
from tests.hostile import CaseContext, HostileCase, Outcome, run_case
from tests.synthetic_binaries import write_platform_package
from tests.test_hostile_archives import (
    MAC_ARM,
    RUNTIME,
    VERSION,
    Entry,
    _copy_dist,
    _member,
    _verify,
    _wheel,
    wheel_case,
)

SBOM = f"openai_codex_cli_bin-{VERSION}.dist-info/sboms/codex-runtime.cdx.json"
CODEX = "codex_cli_bin/vendor/bin/codex"


def _index(entries: list[Entry], name: str) -> int:
    return next(i for i, (info, _) in enumerate(entries) if info.filename == name)


def _drop_sbom(ctx: CaseContext, entries: list[Entry]) -> None:
    del entries[_index(entries, SBOM)]


def _second_sbom(ctx: CaseContext, entries: list[Entry]) -> None:
    entries.append(_member(SBOM.replace("codex-runtime", "other"), entries[_index(entries, SBOM)][1]))


def _drop_payload_file(ctx: CaseContext, entries: list[Entry]) -> None:
    del entries[_index(entries, "codex_cli_bin/py.typed")]


def _extra_payload_file(ctx: CaseContext, entries: list[Entry]) -> None:
    entries.append(_member("codex_cli_bin/vendor/codex-resources/unlisted.txt", b"not in the bill of materials\n"))


def _swap_binary(ctx: CaseContext, entries: list[Entry]) -> None:
    index = _index(entries, CODEX)
    info, data = entries[index]
    entries[index] = (info, data + b"\x00")  # still an ELF of the same tags; RECORD is recomputed


def _edit_sbom_hash(ctx: CaseContext, entries: list[Entry]) -> None:
    index = _index(entries, SBOM)
    document = json.loads(entries[index][1])
    for component in document["components"]:
        if component.get("name") == CODEX:
            component["hashes"] = [{"alg": "SHA-256", "content": hashlib.sha256(b"another codex").hexdigest()}]
    entries[index] = (entries[index][0], json.dumps(document).encode())


def _sbom_of_another_wheel(ctx: CaseContext, entries: list[Entry]) -> None:
    with zipfile.ZipFile(_wheel(ctx.ws / "dist", MAC_ARM)) as other:
        entries[_index(entries, SBOM)] = (entries[_index(entries, SBOM)][0], other.read(SBOM))


def _not_json(ctx: CaseContext, entries: list[Entry]) -> None:
    entries[_index(entries, SBOM)] = (entries[_index(entries, SBOM)][0], b"\xff not json")


def _freshly_staged(ctx: CaseContext) -> list[str]:
    dist = _copy_dist(ctx)
    _wheel(dist, RUNTIME).unlink()
    package = write_platform_package(ctx.ws / "pkg", "x86_64-unknown-linux-musl", version=VERSION.semver)
    staged = stage_runtime(
        ctx.ws / "staging",
        package,
        VERSION,
        wheel_dir=dist,
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert staged.wheel is not None
    return _verify(ctx, dist)


def _verified_with_sbom(ctx: CaseContext, outcome: Outcome) -> None:
    assert "verify: OK" in outcome.stdout, outcome.stdout
    with zipfile.ZipFile(_wheel(ctx.ws / "dist", RUNTIME)) as wheel:
        assert SBOM in wheel.namelist()


CASES = [
    HostileCase(
        "sbom control: a freshly staged wheel carries its SBOM and verifies",
        _freshly_staged,
        None,
        check=_verified_with_sbom,
    ),
    wheel_case("runtime wheel without an SBOM", RUNTIME, _drop_sbom, "exactly one SBOM in .dist-info/sboms/"),
    wheel_case("runtime wheel with two SBOMs", RUNTIME, _second_sbom, "(found openai_codex_cli_bin"),
    wheel_case(
        "SBOM lists a file the wheel lacks",
        RUNTIME,
        _drop_payload_file,
        "the SBOM lists codex_cli_bin/py.typed, which the wheel does not hold",
    ),
    wheel_case(
        "SBOM misses a file of the wheel",
        RUNTIME,
        _extra_payload_file,
        "codex_cli_bin/vendor/codex-resources/unlisted.txt is in the wheel but not in the SBOM",
    ),
    wheel_case(
        "a swapped binary with a true RECORD: the SBOM's hash differs",
        RUNTIME,
        _swap_binary,
        f"{CODEX}: the SBOM's SHA-256 does not match the file",
    ),
    wheel_case(
        "SBOM with a wrong hash for a file",
        RUNTIME,
        _edit_sbom_hash,
        f"{CODEX}: the SBOM's SHA-256 does not match the file",
    ),
    wheel_case(
        "the SBOM of another target's wheel",
        RUNTIME,
        _sbom_of_another_wheel,
        f"names the npm package @openai/codex@{VERSION.semver}-darwin-arm64, but the wheel bundles the platform "
        f"package {VERSION.semver}-linux-x64",
    ),
    wheel_case("an SBOM that is not JSON", RUNTIME, _not_json, "the SBOM is not JSON"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_sbom(case: HostileCase, tmp_path: Path, synthetic_dist: Path) -> None:
    run_case(case, tmp_path, {"synthetic_dist": lambda: synthetic_dist})
