from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.cli import main
from codex_release.core.pins import (
    generated_codex_version,
    pinned_runtime_version,
    require_generated,
    require_pinned,
    runtime_requirement,
)
from codex_release.core.targets import TARGETS, get_target, host_target
from codex_release.core.versions import parse_codex_version
from codex_release.errors import FaultFound, InputRefused
from tests.checkout import CHECKOUT, pinned_runtime

REPO = Path(__file__).resolve().parent.parent


def test_six_targets_cover_each_os_and_arch() -> None:
    assert {(t.os, t.arch) for t in TARGETS} == {
        (os_, arch) for os_ in ("linux", "macos", "windows") for arch in ("x86_64", "aarch64")
    }
    assert len({t.triple for t in TARGETS}) == 6
    assert all(t.exe_suffix == (".exe" if t.os == "windows" else "") for t in TARGETS)


def test_linux_wheels_install_on_glibc_and_where_possible_musl() -> None:
    x86 = get_target("x86_64-unknown-linux-musl")
    assert {tag.split("_")[0] for tag in x86.expected_tags} == {"musllinux", "manylinux", "manylinux2014"}
    # aarch64: rg is glibc-linked in the real package, so no musllinux tag (see targets.py).
    assert get_target("aarch64-unknown-linux-musl").expected_tags == ("manylinux_2_18_aarch64",)


def test_get_target_unknown_names_the_choices() -> None:
    with pytest.raises(InputRefused, match="unknown target 'x86_64-unknown-linux-gnu': use one of"):
        get_target("x86_64-unknown-linux-gnu")


def test_npm_spec() -> None:
    assert get_target("aarch64-apple-darwin").npm_spec("0.169.0") == "@openai/codex@0.169.0-darwin-arm64"


def test_matrix_json_is_the_target_table() -> None:
    result = CliRunner().invoke(main, ["matrix", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["include"]
    assert [row["triple"] for row in rows] == [t.triple for t in TARGETS]
    assert all(row["platform_tag"] == ".".join(row["expected_tags"]) for row in rows)
    assert all(row["runner"] for row in rows)


def test_pin_is_read_from_sdk_pyproject() -> None:
    version = pinned_runtime()
    text = (REPO / "sdk" / "pyproject.toml").read_text()
    assert f'"openai-codex-cli-bin=={version.pep440}"' in text


@pytest.mark.parametrize(
    ("dependencies", "fragment"),
    [
        ('["pydantic"]', "exactly one openai-codex-cli-bin==X dependency, found 0"),
        ('["openai-codex-cli-bin==1.0.0", "openai-codex-cli-bin==1.0.0"]', "found 2"),
        ('["openai-codex-cli-bin>=1.0.0"]', "must be one exact pin"),
        ('["openai-codex-cli-bin==1.0.*"]', "must be one exact pin"),
        ('["not a requirement !!"]', "invalid dependency"),
    ],
)
def test_bad_pins_are_refused(tmp_path: Path, dependencies: str, fragment: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "x"\ndependencies = {dependencies}\n')
    with pytest.raises(InputRefused, match=fragment.replace("(", r"\(").replace("*", r"\*")):
        pinned_runtime_version(pyproject)


def test_runtime_requirement_reads_the_exact_pin(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["pydantic>=2", "openai-codex-cli-bin==0.154.0a1"]\n')
    assert str(runtime_requirement(pyproject)) == "openai-codex-cli-bin==0.154.0a1"
    assert pinned_runtime_version(pyproject).tag == "rust-v0.154.0-alpha.1"


def test_require_pinned_takes_the_pin_in_any_spelling_and_refuses_the_rest(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["openai-codex-cli-bin==0.154.0a1"]\n')
    pinned = parse_codex_version("0.154.0a1")
    assert require_pinned(None, pyproject) == pinned
    assert require_pinned(parse_codex_version("rust-v0.154.0-alpha.1"), pyproject) == pinned
    with pytest.raises(InputRefused) as refused:
        require_pinned(parse_codex_version("0.154.0"), pyproject)
    assert str(refused.value) == (
        f"--codex-version 0.154.0 is not the pinned runtime 0.154.0a1 ({pyproject}): "
        "run 'codex-release bump --codex-version 0.154.0' to move the pin, or release 0.154.0a1"
    )
    assert require_pinned(None, CHECKOUT.sdk_pyproject) == pinned_runtime()


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('CODEX_VERSION = "0.169.0"\n', None),
        ('"""doc"""\nCODEX_VERSION = "rust-v0.154.0-alpha.1"\n__all__ = []\n', None),
        ("CODEX_VERSION = compute()\n", "does not set CODEX_VERSION to a version string"),
        ("VERSION = '0.169.0'\n", "does not set CODEX_VERSION to a version string"),
        ('CODEX_VERSION = "latest"\n', "g.py: CODEX_VERSION: not a Codex version"),
        ("CODEX_VERSION = (\n", "g.py is not Python"),
    ],
)
def test_generated_codex_version_is_read_without_running_the_module(source: str, fragment: str | None) -> None:
    if fragment is None:
        assert generated_codex_version(source, "g.py").pep440 in {"0.169.0", "0.154.0a1"}
    else:
        with pytest.raises(FaultFound, match=fragment):
            generated_codex_version(source, "g.py")


def test_the_checkouts_generated_types_come_from_the_pinned_runtime() -> None:
    require_generated(pinned_runtime(), REPO / "sdk")


def test_cli_rejects_a_bad_version_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fetch-runtime", "--codex-version", "latest", "--all", "--dest", str(tmp_path)])
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    assert "not a Codex version: 'latest'" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("system", "machine", "triple"),
    [
        ("Linux", "x86_64", "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", "aarch64-unknown-linux-musl"),
        ("Darwin", "arm64", "aarch64-apple-darwin"),
        ("Windows", "AMD64", "x86_64-pc-windows-msvc"),
    ],
)
def test_host_target(monkeypatch: pytest.MonkeyPatch, system: str, machine: str, triple: str) -> None:
    monkeypatch.setattr("platform.system", lambda: system)
    monkeypatch.setattr("platform.machine", lambda: machine)
    assert host_target().triple == triple


def test_host_target_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.system", lambda: "FreeBSD")
    with pytest.raises(InputRefused, match=r"no Codex runtime is published for this host \(FreeBSD"):
        host_target()
