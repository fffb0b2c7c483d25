"""Only the CLI finds the checkout; library functions take its paths as parameters (issue 15, item 5).

* the finder (:func:`codex_release.core.locations.find_checkout`): the nearest checkout at or above the
  current directory, ``--checkout`` and ``CODEX_RELEASE_CHECKOUT`` first, an editable install's checkout
  last, else one line naming the fix;
* the CLI finds it once, in the group, and commands that need no checkout (``matrix``) run anywhere;
* an installed (non-editable) copy of the toolkit works on a checkout it is pointed at, or runs inside;
* no library module calls the finder.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.cli import main
from codex_release.cli import options as cli_options
from codex_release.core.locations import CHECKOUT_ENV, Checkout, find_checkout
from codex_release.errors import ReleaseError
from tests.checkout import CHECKOUT, REPO_ROOT, pinned_runtime

OTHER_PIN = "0.154.0a1"
"""The pin of the fake checkouts below: a command shows which checkout it read by accepting it."""


def _fake_checkout(root: Path, pin: str = OTHER_PIN) -> Path:
    (root / "sdk").mkdir(parents=True)
    (root / "runtime").mkdir()
    (root / "sdk" / "pyproject.toml").write_text(
        f'[project]\nname = "openai-codex"\ndependencies = ["openai-codex-cli-bin=={pin}"]\n', encoding="utf-8"
    )
    return root


# -- the finder --------------------------------------------------------------------------------------------


def test_the_checkout_names_the_paths_the_toolkit_reads() -> None:
    assert CHECKOUT.sdk_pyproject == REPO_ROOT / "sdk" / "pyproject.toml"
    assert CHECKOUT.generated == REPO_ROOT / "sdk" / "src" / "openai_codex" / "generated"
    assert CHECKOUT.runtime_template == REPO_ROOT / "runtime"
    assert CHECKOUT.publisher_lock == REPO_ROOT / "requirements" / "publish-action.txt"
    for path in (CHECKOUT.sdk_pyproject, CHECKOUT.publisher_lock):
        assert path.is_file(), path
    for path in (CHECKOUT.generated, CHECKOUT.runtime_template):
        assert path.is_dir(), path


def test_a_subdirectory_of_a_checkout_finds_it(tmp_path: Path) -> None:
    root = _fake_checkout(tmp_path / "repo")
    deep = root / "sdk" / "src" / "deep"
    deep.mkdir(parents=True)
    assert find_checkout(cwd=deep, package_dir=None) == Checkout(root.resolve())
    assert find_checkout(cwd=root, package_dir=None) == Checkout(root.resolve())


def test_the_nearest_checkout_wins(tmp_path: Path) -> None:
    outer = _fake_checkout(tmp_path / "outer")
    inner = _fake_checkout(outer / "vendor" / "inner")
    assert find_checkout(cwd=inner / "sdk", package_dir=None).root == inner.resolve()


def test_a_given_directory_wins_and_must_be_a_checkout(tmp_path: Path) -> None:
    root = _fake_checkout(tmp_path / "repo")
    assert find_checkout(root, cwd=REPO_ROOT, package_dir=None).root == root.resolve()
    with pytest.raises(ReleaseError, match=r"^--checkout .*sdk is not a checkout .*: pass the repository's top"):
        find_checkout(root / "sdk", cwd=REPO_ROOT)


def test_outside_a_checkout_an_editable_install_falls_back_to_its_own(tmp_path: Path) -> None:
    root = _fake_checkout(tmp_path / "repo")
    (root / "packaging" / "codex_release").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert find_checkout(cwd=elsewhere, package_dir=root / "packaging" / "codex_release").root == root
    # this suite runs an editable install: the toolkit's own default is this checkout
    assert find_checkout(cwd=elsewhere) == Checkout(REPO_ROOT)
    # a package that does not lie in packaging/ of a checkout (site-packages) is no fallback
    with pytest.raises(ReleaseError):
        find_checkout(cwd=elsewhere, package_dir=tmp_path / "site-packages" / "codex_release")


def test_outside_any_checkout_without_an_editable_install_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError) as info:
        find_checkout(cwd=tmp_path, package_dir=None)
    message = str(info.value)
    assert "\n" not in message
    assert f"at or above {tmp_path.resolve()}" in message
    assert "run codex-release inside the repository, or pass --checkout DIR" in message
    assert CHECKOUT_ENV in message


# -- the CLI -----------------------------------------------------------------------------------------------


def _plan(version: str, *options: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*options, "plan", "--codex-version", version], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_finds_the_checkout_from_a_subdirectory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT / "docs")
    monkeypatch.delenv(CHECKOUT_ENV, raising=False)
    code, out, err = _plan(pinned_runtime().pep440)
    assert (code, err) == (0, "")
    assert f"version={pinned_runtime().pep440}" in out


def test_checkout_option_and_environment_win_over_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = _fake_checkout(tmp_path / "fake")
    other = _fake_checkout(tmp_path / "other", pin="0.1.0")
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv(CHECKOUT_ENV, raising=False)
    assert _plan(OTHER_PIN, "--checkout", str(fake))[0] == 0
    assert _plan(OTHER_PIN, env={CHECKOUT_ENV: str(fake)})[0] == 0
    assert _plan(OTHER_PIN, "--checkout", str(fake), env={CHECKOUT_ENV: str(other)})[0] == 0  # the option first
    code, _, err = _plan(pinned_runtime().pep440, "--checkout", str(fake))
    assert code == 1
    assert f"is not the pinned runtime {OTHER_PIN} (sdk/pyproject.toml)" in err


@pytest.mark.parametrize("given_as", ["option", "environment"])
def test_a_given_directory_that_is_no_checkout_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given_as: str
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv(CHECKOUT_ENV, raising=False)
    if given_as == "option":
        result = CliRunner().invoke(main, ["--checkout", str(tmp_path), "matrix"])
        shown = f"--checkout {tmp_path}"
    else:
        result = CliRunner().invoke(main, ["matrix"], env={CHECKOUT_ENV: str(tmp_path)})
        shown = f"{CHECKOUT_ENV} {tmp_path}"
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: {shown} is not a checkout of the Codex Python SDK (no sdk/pyproject.toml and runtime/ there): "
        "pass the repository's top directory"
    ]


def test_outside_any_checkout_commands_that_need_one_say_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A non-editable install outside a checkout: the finder's fallback points at nothing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CHECKOUT_ENV, raising=False)
    monkeypatch.setattr(cli_options, "find_checkout", functools.partial(find_checkout, package_dir=None))
    code, _, err = _plan(pinned_runtime().pep440)
    assert code == 1
    assert err.splitlines() == [
        f"Error: no checkout of the Codex Python SDK (sdk/pyproject.toml and runtime/) at or above "
        f"{tmp_path.resolve()}: run codex-release inside the repository, or pass --checkout DIR (or set "
        f"{CHECKOUT_ENV})"
    ]
    matrix = CliRunner().invoke(main, ["matrix", "--json"])  # needs no checkout
    assert matrix.exit_code == 0, matrix.output


# -- an installed copy -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed_toolkit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``codex-release`` of a wheel of this tree, installed into a fresh venv (not editable).

    The venv has no pip and no packages of its own but the toolkit; a ``.pth`` file lends it this
    environment's site-packages for the dependencies (a ``.pth`` line adds a directory without running
    the ``.pth`` files in it, so the dev environment's editable toolkit stays out of sight).
    """
    root = tmp_path_factory.mktemp("installed-toolkit")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(root / "wheel"), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (root / "wheel").glob("codex_release-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    loaded = subprocess.run(
        [str(python), "-c", "import codex_release; print(codex_release.__file__)"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    assert Path(loaded).is_relative_to(Path(site)), f"the venv imports {loaded}, not its installed copy"
    return venv / ("Scripts" if os.name == "nt" else "bin") / "codex-release"


def _run(script: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (CHECKOUT_ENV, "PYTHONPATH")}
    return subprocess.run(
        [str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow
def test_an_installed_toolkit_works_on_the_checkout_it_is_given_or_runs_in(
    installed_toolkit: Path, tmp_path: Path
) -> None:
    pin = pinned_runtime().pep440
    given = _run(installed_toolkit, tmp_path, "--checkout", str(REPO_ROOT), "plan", "--codex-version", pin)
    assert given.returncode == 0, given.stderr
    assert f"version={pin}" in given.stdout.splitlines()
    inside = _run(installed_toolkit, REPO_ROOT / "sdk", "plan", "--codex-version", pin)
    assert inside.returncode == 0, inside.stderr
    assert f"version={pin}" in inside.stdout.splitlines()


@pytest.mark.slow
def test_an_installed_toolkit_outside_a_checkout_names_the_fix(installed_toolkit: Path, tmp_path: Path) -> None:
    lost = _run(installed_toolkit, tmp_path, "plan", "--codex-version", pinned_runtime().pep440)
    assert lost.returncode == 1
    (line,) = lost.stderr.splitlines()
    assert "run codex-release inside the repository, or pass --checkout DIR" in line, line
    assert _run(installed_toolkit, tmp_path, "matrix").returncode == 0


def test_the_maintainer_script_runs_on_its_own_repository(tmp_path: Path) -> None:
    pin = pinned_runtime().pep440
    env = {k: v for k, v in os.environ.items() if k != CHECKOUT_ENV}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "update_sdk_artifacts.py"), "plan", "--codex-version", pin],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"version={pin}" in done.stdout.splitlines()


# -- no library module finds the checkout ------------------------------------------------------------------

_FINDERS = {"find_checkout", "repo_root"}
_ALLOWED = ("cli/", "core/locations.py")


def test_only_the_cli_finds_the_checkout() -> None:
    package = REPO_ROOT / "packaging" / "codex_release"
    offenders: list[str] = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name.rpartition(".")[2] for alias in node.names]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            else:
                continue
            offenders += [f"{relative}:{node.lineno} {name}" for name in names if name in _FINDERS]
    assert not offenders, f"library modules take the checkout as a parameter; only the CLI finds it: {offenders}"
