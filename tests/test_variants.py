"""A target gives a full wheel and, where an optional ``codex-path/`` helper narrows the tags, a lean one."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
import tomlkit

from codex_release.binaries import inspect_tree
from codex_release.core.targets import TARGETS, get_target
from codex_release.core.variants import choose_variants
from codex_release.core.versions import parse_codex_version
from codex_release.steps.stage_runtime import VENDOR, stage_runtime
from tests.checkout import CHECKOUT
from tests.synthetic_binaries import make_elf, write_binary, write_platform_package

V = parse_codex_version("0.169.0")
ARM = "aarch64-unknown-linux-musl"
X86 = "x86_64-unknown-linux-musl"
FULL = ("manylinux_2_18_aarch64",)
LEAN = ("musllinux_1_1_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64")


def _tags(wheel: Path) -> str:
    return wheel.name.removesuffix(".whl").rsplit("-", 1)[-1]


def _members(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


# ------------------------------------------------------------------------------- choosing the variants
def test_aarch64_gives_a_full_and_a_lean_wheel_with_exactly_those_tags(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", ARM)
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [(v.name, v.tags) for v in staged.variants] == [("full", FULL), ("lean", LEAN)]
    assert list(staged.variants[1].omitted) == ["codex-path/rg"]
    assert "glibc 2.18" in staged.variants[1].omitted["codex-path/rg"]
    full, lean = staged.wheels
    assert staged.wheel == full
    assert (_tags(full), _tags(lean)) == (".".join(FULL), ".".join(LEAN))
    assert "codex_cli_bin/vendor/codex-path/rg" in _members(full)
    assert not any("codex-path" in name for name in _members(lean))
    assert _members(full) - _members(lean) == {"codex_cli_bin/vendor/codex-path/rg"}
    assert sorted(p.name for p in (tmp_path / "wheels").iterdir()) == sorted([full.name, lean.name])
    # STAGING_DIR is the full variant (what `python -m build` builds), and no scratch is left
    assert (tmp_path / "stage" / VENDOR / "codex-path" / "rg").is_file()
    document = tomlkit.parse((tmp_path / "stage" / "pyproject.toml").read_text())
    assert document["tool"]["hatch"]["build"]["hooks"]["custom"]["platform-tag"] == ".".join(FULL)  # type: ignore[index]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "stage", "wheels"]


def test_the_lean_wheel_is_reproducible_too(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", ARM)
    first = stage_runtime(
        tmp_path / "a",
        package,
        V,
        wheel_dir=tmp_path / "w1",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    second = stage_runtime(
        tmp_path / "b",
        package,
        V,
        wheel_dir=tmp_path / "w2",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [w.read_bytes() for w in first.wheels] == [w.read_bytes() for w in second.wheels]


@pytest.mark.parametrize("triple", [t.triple for t in TARGETS])
def test_every_target_gives_the_wheels_of_the_table(tmp_path: Path, triple: str) -> None:
    package = write_platform_package(tmp_path / "pkg", triple)
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [(v.name, v.tags) for v in staged.variants] == list(get_target(triple).expected_wheels)
    assert len(staged.wheels) == len(staged.variants)


def test_x86_64_all_static_gives_one_wheel(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", X86)
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [v.name for v in staged.variants] == ["full"]
    assert len(staged.wheels) == 1


def test_a_path_helper_that_needs_nothing_more_gives_one_wheel(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", ARM)
    write_binary(package / "codex-path" / "rg", make_elf("aarch64", static=True))
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [(v.name, v.tags) for v in staged.variants] == [("full", LEAN)]
    assert len(staged.wheels) == 1


def test_a_helper_outside_path_dir_raises_the_floor_and_is_never_dropped(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", ARM)
    write_binary(package / "codex-path" / "rg", make_elf("aarch64", static=True))
    needs_2_28 = make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.17", "2.28"))
    write_binary(package / "codex-resources" / "bwrap", needs_2_28)
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [(v.name, v.tags) for v in staged.variants] == [("full", ("manylinux_2_28_aarch64",))]
    (wheel,) = staged.wheels
    assert "codex_cli_bin/vendor/codex-resources/bwrap" in _members(wheel)


def test_a_path_helper_below_a_higher_floor_elsewhere_is_kept(tmp_path: Path) -> None:
    """rg needs glibc 2.18, a resource 2.28: rg raises nothing, so one wheel holds both."""
    package = write_platform_package(tmp_path / "pkg", ARM)
    needs_2_28 = make_elf("aarch64", static=False, libc="glibc", glibc_versions=("2.28",))
    write_binary(package / "codex-resources" / "bwrap", needs_2_28)
    binaries = inspect_tree(package)
    assert [v.name for v in choose_variants(binaries, get_target(ARM), path_dir="codex-path")] == ["full"]


def test_only_the_helpers_that_raise_the_floor_are_left_out(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", ARM)
    write_binary(package / "codex-path" / "fd", make_elf("aarch64", static=True))
    full, lean = choose_variants(inspect_tree(package), get_target(ARM), path_dir="codex-path")
    assert (full.tags, lean.tags) == (FULL, LEAN)
    assert list(lean.omitted) == ["codex-path/rg"]


def test_a_requested_platform_tag_is_one_explicit_wheel(tmp_path: Path) -> None:
    package = write_platform_package(tmp_path / "pkg", ARM)
    staged = stage_runtime(
        tmp_path / "stage",
        package,
        V,
        platform_tag="manylinux_2_28_aarch64",
        wheel_dir=tmp_path / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    assert [(v.name, v.tags) for v in staged.variants] == [("full", ("manylinux_2_28_aarch64",))]
    assert len(staged.wheels) == 1


# ------------------------------------------------------------------------- codex_cli_bin in each wheel
def _load_runtime(wheel: Path, root: Path, name: str) -> ModuleType:
    """Import ``codex_cli_bin`` from an unpacked wheel under its own module name."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(root)
        for info in archive.infolist():
            if info.external_attr >> 16 & 0o111:
                (root / info.filename).chmod(0o755)
    spec = importlib.util.spec_from_file_location(name, root / "codex_cli_bin" / "__init__.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def aarch64_wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("aarch64")
    package = write_platform_package(root / "pkg", ARM)
    staged = stage_runtime(
        root / "stage",
        package,
        V,
        wheel_dir=root / "wheels",
        progress=False,
        template=CHECKOUT.runtime_template,
        checkout=CHECKOUT.root,
    )
    full, lean = staged.wheels
    return full, lean


def test_the_full_wheel_says_it_bundles_rg_and_puts_it_on_path(
    aarch64_wheels: tuple[Path, Path], tmp_path: Path
) -> None:
    runtime = _load_runtime(aarch64_wheels[0], tmp_path, "codex_cli_bin_full")
    assert runtime.bundled_variant() == "full"
    assert runtime.bundled_helpers() == ("rg",)
    assert runtime.omitted_helpers() == {}
    env = runtime.bundled_env({"PATH": "/usr/bin"})
    assert env["PATH"] == f"{tmp_path / 'codex_cli_bin' / 'vendor' / 'codex-path'}:/usr/bin"


def test_the_lean_wheel_says_what_it_lacks_and_leaves_path_alone(
    aarch64_wheels: tuple[Path, Path], tmp_path: Path
) -> None:
    runtime = _load_runtime(aarch64_wheels[1], tmp_path, "codex_cli_bin_lean")
    assert runtime.bundled_variant() == "lean"
    assert runtime.bundled_helpers() == ()
    omitted = runtime.omitted_helpers()
    assert list(omitted) == ["rg"]
    assert "glibc 2.18" in omitted["rg"]
    assert "PATH" in omitted["rg"]
    assert runtime.bundled_env({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin"}
    document = json.loads((tmp_path / "codex_cli_bin" / "bundled-helpers.json").read_text())
    assert document["variant"] == "lean"
    assert document["bundled"] == []


@pytest.fixture
def lean_runtime(aarch64_wheels: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    runtime = _load_runtime(aarch64_wheels[1], tmp_path, "codex_cli_bin")
    monkeypatch.setitem(sys.modules, "codex_cli_bin", runtime)
    return tmp_path


def test_the_sdk_launches_the_lean_runtime_with_the_systems_path(
    lean_runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openai_codex._runtime import launch_spec
    from openai_codex.config import CodexConfig

    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin")
    argv, env = launch_spec(CodexConfig())
    assert argv[:2] == [str(lean_runtime / "codex_cli_bin" / "vendor" / "bin" / "codex"), "app-server"]
    assert env["PATH"] == "/usr/local/bin:/usr/bin"
