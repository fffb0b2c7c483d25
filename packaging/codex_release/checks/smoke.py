"""``smoke``: prove that a built release installs and runs the way a user gets it.

1. **Install**: a fresh venv (stdlib :mod:`venv`), then ``pip install --no-index --find-links DIST
   --find-links WHEELHOUSE --only-binary=:all: openai-codex==V`` with pip's configuration switched off.
   Our two distributions come from DIST only; WHEELHOUSE holds just the SDK's third-party dependencies
   (pydantic and friends), downloaded once through the user's normal pip setup and cached, and is checked
   to contain nothing of ours.
2. **Run**: :mod:`codex_release.checks.smoke_program`, copied to a temporary directory and run there by the
   venv's interpreter in isolated mode (``-I``) with a clean environment, asserts that the SDK and the
   runtime import from the venv's site-packages at version V, that the bundled ``codex --version`` says
   V, and that one real turn (sync :class:`Codex`, then async :class:`AsyncCodex`) on that binary returns
   the text of the fake model server that this process runs on loopback.
3. **Resolve** (optional): the resolver dry runs of :mod:`codex_release.checks.resolution` for every platform.
4. **Emulate** (optional): the aarch64 Linux runtime under ``qemu-user-static`` (or binfmt, or natively
   on an aarch64 host): ``--version`` and an app-server ``initialize`` round trip, from every aarch64
   Linux wheel (the full one with ``rg`` and the lean, musl-tagged one without it).

The result is a table; any failed row makes the command exit non-zero.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from codex_release import processes
from codex_release.archives import WheelArchive, WheelMember
from codex_release.checks.fake_responses import FakeResponsesServer, Text
from codex_release.checks.fresh_venv import FreshVenv, clean_env, isolated_pip_env, pip_error, run_pip
from codex_release.core.dist import ReleaseFiles, read_release_files
from codex_release.core.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.targets import get_target
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound, InputRefused, ReleaseError, ToolFailed

__all__ = [
    "CheckRow",
    "EmulationMode",
    "SmokeReport",
    "aarch64_launcher",
    "check_emulated_aarch64",
    "dependency_wheelhouse",
    "install_release",
    "run_smoke_program",
    "smoke",
]

EmulationMode = Literal["auto", "required", "off"]
SMOKE_PROMPT = "Say hello to the smoke test."
SMOKE_REPLY = "Hello from the fake model, via the installed wheels."
_PROGRAM = Path(__file__).with_name("smoke_program.py")


@dataclass(frozen=True)
class CheckRow:
    """One line of the report: ``ok`` is ``None`` for a check that was skipped."""

    section: str
    check: str
    ok: bool | None
    detail: str

    @property
    def status(self) -> str:
        return "skip" if self.ok is None else "ok" if self.ok else "FAIL"


@dataclass
class SmokeReport:
    rows: list[CheckRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok is not False for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        return [row for row in self.rows if row.ok is False]

    def add(self, section: str, check: str, ok: bool | None, detail: str) -> None:
        self.rows.append(CheckRow(section, check, ok, detail))

    def table(self, title: str = "smoke") -> str:
        header = ("section", "check", "status", "detail")
        rows = [header, *((r.section, r.check, r.status, r.detail) for r in self.rows)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)) for row in rows]
        passed = sum(1 for r in self.rows if r.ok)
        skipped = sum(1 for r in self.rows if r.ok is None)
        lines.append(f"{title}: {passed} passed, {len(self.failures)} failed, {skipped} skipped")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- install
def _wheelhouse_dir() -> Path:
    from codex_release.core.locations import cache_dir

    return cache_dir() / "wheelhouse" / f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"


def _ours(path: Path) -> bool:
    try:
        if path.suffix == ".whl":
            name = parse_wheel_filename(path.name)[0]
        elif path.name.endswith(".tar.gz"):
            name = parse_sdist_filename(path.name)[0]
        else:
            return False
    except ValueError:
        return False
    return canonicalize_name(name) in {RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION}


def dependency_wheelhouse(files: ReleaseFiles, wheelhouse: Path | None = None) -> Path:
    """A directory of wheels for the SDK's third-party dependencies on this interpreter.

    Reused offline when it already satisfies them; otherwise filled by ``pip download`` through the
    user's own pip configuration (the only step that may use the network). Never holds our files.
    """
    requirements = files.sdk_other_requirements()
    house = wheelhouse or _wheelhouse_dir()
    house.mkdir(parents=True, exist_ok=True)
    if requirements:
        base = ["download", "--only-binary=:all:", "--dest", str(house), "--quiet", *requirements]
        offline = run_pip([*base, "--no-index", "--find-links", str(house)], env=isolated_pip_env())
        if offline.returncode != 0:
            if wheelhouse is not None:
                raise ToolFailed(f"the wheelhouse {house} lacks the SDK's dependencies: {pip_error(offline)}")
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
            online = run_pip(base, env=env)
            if online.returncode != 0:
                raise ToolFailed(
                    f"cannot download the SDK's dependencies ({', '.join(requirements)}): {pip_error(online)}: "
                    "check pip's index settings, or pass --wheelhouse DIR holding them"
                )
    stray = sorted(p.name for p in house.iterdir() if _ours(p))
    if stray:
        raise InputRefused(f"the wheelhouse {house} holds {', '.join(stray)}: only DIST may provide our files")
    return house


def _host_runtime_wheel(files: ReleaseFiles) -> Path:
    """The runtime wheel pip installs here: of those with a supported tag, the one whose best tag ranks first."""
    rank = {str(tag): index for index, tag in enumerate(sys_tags())}
    ranked = [
        (min(ranks), wheel.name, wheel)
        for wheel in files.all_runtime_wheels()
        if (ranks := [rank[str(tag)] for tag in parse_wheel_filename(wheel.name)[3] if str(tag) in rank])
    ]
    if ranked:
        return min(ranked)[2]
    machine = f"{sys.platform} {platform.machine()}"
    raise FaultFound(
        f"{files.dist_dir} has no runtime wheel that installs on this machine ({machine}): "
        "build the release for every target (`codex-release release`)"
    )


def install_release(files: ReleaseFiles, venv_root: Path, *, wheelhouse: Path | None = None) -> FreshVenv:
    """A fresh venv at ``venv_root`` with ``openai-codex==V`` installed from DIST only."""
    files.sdk_runtime_requirement()
    _host_runtime_wheel(files)
    house = dependency_wheelhouse(files, wheelhouse)
    fresh = FreshVenv.create(venv_root)
    args = ["install", "--no-index", "--only-binary=:all:", "--no-cache-dir", "--quiet"]
    args += ["--find-links", str(files.dist_dir.resolve()), "--find-links", str(house)]
    with tempfile.TemporaryDirectory(prefix="codex-smoke-cwd-") as cwd:
        fresh.pip([*args, f"{SDK_DISTRIBUTION}=={files.version}"], env=isolated_pip_env(), cwd=Path(cwd))
    return fresh


# ----------------------------------------------------------------------------------------- run a turn
def run_smoke_program(python: Path, version: CodexVersion, report: SmokeReport, section: str = "install") -> None:
    """Run the smoke program with ``python`` against a fake model served from this process."""
    with tempfile.TemporaryDirectory(prefix="codex-smoke-") as tmp_name:
        tmp = Path(tmp_name)
        for sub in ("home", "work"):
            (tmp / sub).mkdir()
        program = tmp / "smoke_program.py"
        shutil.copyfile(_PROGRAM, program)
        with FakeResponsesServer(default_reply=Text(SMOKE_REPLY, deltas=4)) as model:
            spec = {
                "version": version.pep440,
                "semver": version.semver,
                "config_overrides": model.config_overrides(),
                "codex_home": str(tmp / "home"),
                "workdir": str(tmp / "work"),
                "prompt": SMOKE_PROMPT,
                "expected_text": SMOKE_REPLY,
            }
            try:
                result = processes.run(
                    [str(python), "-I", str(program), json.dumps(spec)],
                    cwd=tmp / "work",
                    env=clean_env(),
                    timeout=600,
                    what="the smoke program",
                )
            except processes.ChildTimeout as exc:
                report.add(section, "smoke program", False, str(exc))
                return
            turns = len(model.model_requests)
        seen = 0
        for line in result.stdout.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and {"check", "ok", "detail"} <= row.keys():
                report.add(section, str(row["check"]), bool(row["ok"]), str(row["detail"]))
                seen += 1
        if result.returncode != 0 and seen == 0:
            tail = " ".join(result.stderr.split())[-400:]
            report.add(section, "smoke program", False, f"exit {result.returncode}: {tail}")
        report.add(section, "fake model served the turns", turns >= 2, f"{turns} model request(s) on loopback")


# ------------------------------------------------------------------------------------------ emulation
def aarch64_launcher() -> list[str] | None:
    """How to start an aarch64 Linux executable here: ``[]`` natively or via binfmt, ``[qemu]``, or None."""
    if sys.platform != "linux":
        return None
    if platform.machine().lower() in {"aarch64", "arm64"}:
        return []
    for name in ("qemu-aarch64-static", "qemu-aarch64"):
        found = shutil.which(name)
        if found:
            return [found]
    binfmt = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    try:
        if binfmt.is_file() and binfmt.read_text().splitlines()[0].strip() == "enabled":
            return []
    except (OSError, IndexError):
        pass
    return None


def _extract_vendor(wheel: Path, dest: Path) -> Path:
    """Unpack the platform package of a runtime wheel (with exec bits) into ``dest`` and return it.

    The wheel is read through the checked reader; files land only in the directory it creates.
    """
    prefix = PurePosixPath("codex_cli_bin/vendor")

    def select(member: WheelMember) -> PurePosixPath | None:
        path = PurePosixPath(member.name)
        return path.relative_to(prefix) if prefix in path.parents else None

    dest.parent.mkdir(parents=True, exist_ok=True)
    with WheelArchive(wheel) as archive:
        root = archive.extract(dest.parent, select)
    os.replace(root, dest)
    return dest


def check_emulated_aarch64(files: ReleaseFiles, report: SmokeReport, mode: EmulationMode = "auto") -> None:
    """The aarch64 Linux runtime of DIST: ``--version`` and an app-server ``initialize`` round trip."""
    section = "aarch64 linux"
    if mode == "off":
        return
    launcher = aarch64_launcher()
    if launcher is None:
        hint = "install qemu-user-static (apt-get install qemu-user-static) to run it"
        report.add(section, "emulated runtime", False if mode == "required" else None, f"no aarch64 launcher: {hint}")
        return
    wheels = files.runtime_wheels.get(get_target("aarch64-unknown-linux-musl"), ())
    if not wheels:
        report.add(section, "emulated runtime", False, f"no aarch64 Linux runtime wheel in {files.dist_dir}")
        return
    how = "natively" if not launcher else f"under {Path(launcher[0]).name}"
    for wheel in wheels:
        label = "" if len(wheels) == 1 else f" ({_platform_field(wheel)})"
        _run_emulated(files, wheel, launcher, how, label, report)


def _platform_field(wheel: Path) -> str:
    return wheel.name.removesuffix(".whl").rsplit("-", 1)[-1]


def _run_emulated(
    files: ReleaseFiles, wheel: Path, launcher: list[str], how: str, label: str, report: SmokeReport
) -> None:
    section = "aarch64 linux"
    with tempfile.TemporaryDirectory(prefix="codex-aarch64-") as tmp_name:
        tmp = Path(tmp_name)
        vendor = _extract_vendor(wheel, tmp / "vendor")
        manifest = json.loads((vendor / "codex-package.json").read_text(encoding="utf-8"))
        codex = vendor / str(manifest.get("entrypoint") or "bin/codex")
        expected = f"codex-cli {files.version.semver}"
        try:
            version = processes.run([*launcher, str(codex), "--version"], timeout=300)
        except processes.ChildTimeout as exc:
            report.add(section, f"codex --version{label}", False, str(exc))
            return
        text = version.stdout.strip()
        report.add(
            section, f"codex --version{label}", text == expected, f"{text or version.stderr.strip()[-200:]} ({how})"
        )
        (tmp / "home").mkdir()
        request = {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "smoke", "version": "0"}}}
        try:
            served = processes.converse(
                [*launcher, str(codex), "app-server"],
                json.dumps(request) + "\n",
                answered=lambda line: _initialize_answer(line) is not None,
                timeout=300,
                cwd=tmp,
                env=clean_env({"CODEX_HOME": str(tmp / "home")}),
            )
        except processes.ChildTimeout as exc:
            report.add(section, f"app-server initialize{label}", False, f"no answer: {exc}")
            return
        answer = _initialize_answer(served.stdout)
        agent = str(answer.get("userAgent", "")) if answer else ""
        ok = files.version.semver in agent and "aarch64" in agent
        detail = f"userAgent {agent!r} ({how})" if answer else f"no initialize result: {served.stderr.strip()[-200:]}"
        report.add(section, f"app-server initialize{label}", ok, detail)


def _initialize_answer(stdout: str) -> dict[str, object] | None:
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("id") == 1 and isinstance(message.get("result"), dict):
            return dict(message["result"])
    return None


# ------------------------------------------------------------------------------------------- the whole
@contextmanager
def _scratch(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def smoke(
    dist_dir: Path,
    version: CodexVersion,
    *,
    install: bool = True,
    resolution: bool = True,
    emulation: EmulationMode = "auto",
    expect_target: str | None = None,
    wheelhouse: Path | None = None,
    echo: Callable[[str], None] = print,
) -> SmokeReport:
    """Install from ``dist_dir`` into a fresh venv and run every smoke check; see the module docstring.

    ``expect_target`` (a Rust triple) also requires that the runtime wheel this machine installs is that
    target's (what a native CI runner must prove). Bad input (no such directory, no SDK wheel, files of
    another version, no runtime wheel for this machine) raises :class:`ReleaseError` before anything is
    created.
    """
    files = read_release_files(dist_dir, version)
    files.require_sdk_wheel()
    files.sdk_runtime_requirement()
    report = SmokeReport()
    if install:
        _install_and_run(files, report, expect_target=expect_target, wheelhouse=wheelhouse, echo=echo)
    if resolution:
        from codex_release.checks.resolution import run_resolution_quietly

        echo("resolver dry runs for every user platform")
        _, rows = run_resolution_quietly(dist_dir, version)
        for name, status, detail in rows:
            report.add("resolution", name, status == "ok", detail)
    if emulation != "off":
        echo("aarch64 Linux runtime under emulation")
        check_emulated_aarch64(files, report, emulation)
    if not report.rows:
        raise InputRefused("nothing to check: enable --install, --resolution or --emulated")
    return report


def _install_and_run(
    files: ReleaseFiles,
    report: SmokeReport,
    *,
    expect_target: str | None,
    wheelhouse: Path | None,
    echo: Callable[[str], None],
) -> None:
    version, dist_dir = files.version, files.dist_dir
    host_wheel = _host_runtime_wheel(files)
    if expect_target is not None:
        wanted = files.runtime_wheels.get(get_target(expect_target), ())
        report.add(
            "install",
            f"runtime wheel for {expect_target}",
            host_wheel in wanted,
            f"this machine installs {host_wheel.name}",
        )
    with _scratch("codex-smoke-venv-") as scratch:
        echo(f"installing {SDK_DISTRIBUTION}=={version} from {dist_dir} into a fresh venv")
        try:
            fresh = install_release(files, scratch / "venv", wheelhouse=wheelhouse)
        except ReleaseError as exc:
            report.add("install", f"pip install {SDK_DISTRIBUTION}=={version}", False, str(exc))
        else:
            report.add("install", f"pip install {SDK_DISTRIBUTION}=={version}", True, f"--no-index from {dist_dir}")
            echo("running the smoke program (one sync and one async turn against the fake model)")
            run_smoke_program(fresh.python, version, report)
