"""The runtime wheel's SBOM (PEP 770, CycloneDX): reproducible, complete, and checked against the wheel."""

from __future__ import annotations

import json

import pytest

from codex_release.core.sbom import EmbeddedPackage, build_sbom, check_sbom

PACKAGE = EmbeddedPackage("@openai/codex", "0.169.0-linux-x64", "ab" * 64)
FILES = {
    "codex_cli_bin/vendor/bin/codex": "11" * 32,
    "codex_cli_bin/vendor/codex-path/rg": "22" * 32,
    "codex_cli_bin/__init__.py": "33" * 32,
}


def test_the_document_names_the_wheel_the_npm_package_and_every_file() -> None:
    data = json.loads(build_sbom("0.169.0", PACKAGE, FILES))
    assert data["bomFormat"] == "CycloneDX"
    assert data["specVersion"] == "1.6"
    assert data["metadata"]["component"]["purl"] == "pkg:pypi/openai-codex-cli-bin@0.169.0"
    (npm,) = [c for c in data["components"] if c["type"] == "application"]
    assert npm["purl"] == "pkg:npm/%40openai/codex@0.169.0-linux-x64"
    assert npm["hashes"] == [{"alg": "SHA-512", "content": "ab" * 64}]
    files = {c["name"]: c["hashes"][0]["content"] for c in data["components"] if c["type"] == "file"}
    assert files == FILES
    (root_deps,) = [d for d in data["dependencies"] if d["ref"] == "pkg:pypi/openai-codex-cli-bin@0.169.0"]
    assert root_deps["dependsOn"] == [npm["bom-ref"]]


def test_the_document_is_reproducible_and_depends_on_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = build_sbom("0.169.0", PACKAGE, FILES)
    assert build_sbom("0.169.0", PACKAGE, dict(reversed(FILES.items()))) == first
    changed = build_sbom("0.169.0", PACKAGE, {**FILES, "codex_cli_bin/__init__.py": "44" * 32})
    assert json.loads(changed)["serialNumber"] != json.loads(first)["serialNumber"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert json.loads(build_sbom("0.169.0", PACKAGE, FILES))["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")


def test_check_accepts_the_matching_wheel() -> None:
    assert check_sbom(build_sbom("0.169.0", PACKAGE, FILES), "0.169.0", FILES) == []


def test_check_compares_the_npm_package_with_the_bundled_one() -> None:
    document = build_sbom("0.169.0", PACKAGE, FILES)
    assert check_sbom(document, "0.169.0", FILES, npm_version="0.169.0-linux-x64") == []
    assert check_sbom(document, "0.169.0", FILES, npm_version="0.169.0-darwin-arm64") == [
        "the SBOM names the npm package @openai/codex@0.169.0-linux-x64, but the wheel bundles the platform package "
        "0.169.0-darwin-arm64"
    ]


def test_check_names_every_difference() -> None:
    document = build_sbom("0.169.0", PACKAGE, FILES)
    wheel = dict(FILES)
    wheel["codex_cli_bin/vendor/bin/codex"] = "99" * 32  # swapped binary
    del wheel["codex_cli_bin/vendor/codex-path/rg"]  # listed but absent
    wheel["codex_cli_bin/evil.py"] = "55" * 32  # present but unlisted
    assert check_sbom(document, "0.169.0", wheel) == [
        "codex_cli_bin/evil.py is in the wheel but not in the SBOM",
        "the SBOM lists codex_cli_bin/vendor/codex-path/rg, which the wheel does not hold",
        "codex_cli_bin/vendor/bin/codex: the SBOM's SHA-256 does not match the file",
    ]
    assert check_sbom(document, "0.170.0", FILES) == [
        "the SBOM describes openai-codex-cli-bin 0.169.0, not openai-codex-cli-bin 0.170.0"
    ]
    assert check_sbom(b"{", "0.169.0", FILES)[0].startswith("the SBOM is not JSON")
    assert check_sbom(b'{"bomFormat": "SPDX"}', "0.169.0", FILES) == ["the SBOM is not a CycloneDX document"]
    no_npm = json.loads(document)
    no_npm["components"] = [c for c in no_npm["components"] if c["type"] == "file"]
    assert check_sbom(json.dumps(no_npm).encode(), "0.169.0", FILES) == [
        "the SBOM names 0 embedded npm packages, not one"
    ]
