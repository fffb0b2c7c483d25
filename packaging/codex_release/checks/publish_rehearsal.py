"""Publishing in the only safe order, and a full rehearsal of it against a real index on loopback.

The order is the one the release workflow keeps: **every runtime wheel first, confirmed visible on
the index, then the SDK**. The SDK pins ``openai-codex-cli-bin==V`` exactly, so an SDK that appeared
before its runtime would be uninstallable for everyone resolving in between.

:func:`plan_uploads` sorts a verified dist directory into those two batches (refusing a runtime sdist,
a partial runtime set, a missing SDK wheel or sdist); :func:`stage_publish` writes them to two
directories for the workflow's publish jobs. :func:`publish_rehearsal` runs the whole sequence against
``pypiserver`` (a real package index, started here on ``127.0.0.1`` with uploads allowed and fallback
to any public index disabled), with ``twine upload``, then installs ``openai-codex==V`` *by name* from
that index alone into a fresh venv and runs the smoke program. The server is always stopped.

twine is the publisher's own (:mod:`codex_release.checks.publisher_twine`): the publish action runs
``twine check --strict`` and then ``twine upload`` with the twine of its container, so the rehearsal runs
both with that twine, and a publisher that cannot read our metadata fails here, before any upload.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from codex_release import processes
from codex_release.checks.fresh_venv import FreshVenv, clean_env, isolated_pip_env
from codex_release.checks.publisher_twine import Publisher, check_files, refusal_reason, toolkit_twine
from codex_release.checks.smoke import SmokeReport, dependency_wheelhouse, run_smoke_program
from codex_release.core.dist import read_release_files
from codex_release.core.pins import RUNTIME_DISTRIBUTION, SDK_DISTRIBUTION
from codex_release.core.staging import check_place, check_replaceable, hold, replace_when_done
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound, ReleaseError, ToolFailed

__all__ = [
    "LocalIndex",
    "UploadPlan",
    "plan_uploads",
    "publish_in_order",
    "publish_rehearsal",
    "stage_publish",
]


@dataclass(frozen=True)
class UploadPlan:
    """The two upload batches of one release, in publishing order."""

    version: CodexVersion
    runtime: tuple[Path, ...]
    sdk: tuple[Path, ...]


def plan_uploads(dist_dir: Path, version: CodexVersion) -> UploadPlan:
    """Sort ``dist_dir`` into the runtime batch (every target's wheels) and the SDK batch (wheel + sdist).

    Refuses, before anything is uploaded: a runtime sdist, a missing runtime target, a missing SDK wheel
    or sdist, an SDK whose runtime pin is not exactly ``==V``, and files of another version.
    """
    files = read_release_files(dist_dir, version)
    files.require_all_runtime_wheels()
    wheel = files.require_sdk_wheel()
    files.sdk_runtime_requirement()
    if files.sdk_sdist is None:
        raise FaultFound(
            f"no SDK sdist openai_codex-{version}.tar.gz in {dist_dir}: build it with "
            "`codex-release stage-sdk STAGING --dist-dir DIST`"
        )
    return UploadPlan(version, files.all_runtime_wheels(), (wheel, files.sdk_sdist))


def stage_publish(dist_dir: Path, version: CodexVersion, out_dir: Path, *, checkout: Path) -> UploadPlan:
    """Copy the two batches to ``out_dir/runtime`` and ``out_dir/sdk`` (all or nothing).

    ``out_dir`` follows the output rules of :mod:`codex_release.core.staging`: a new or empty directory apart
    from DIST_DIR, inside the checkout (root ``checkout``) only a git-ignored one, locked while written.
    """
    out = check_place(out_dir, label="--out", checkout=checkout, sources={"DIST_DIR": dist_dir}, in_checkout="ignored")
    plan = plan_uploads(dist_dir, version)
    with hold(out, label="--out"):
        check_replaceable(out, label="--out", overwrite=False, fix="pass a new directory for the publish batches")
        with replace_when_done(out) as new:
            for batch, paths in (("runtime", plan.runtime), ("sdk", plan.sdk)):
                (new / batch).mkdir()
                for path in paths:
                    shutil.copyfile(path, new / batch / path.name)
    return UploadPlan(
        version,
        tuple(out_dir / "runtime" / p.name for p in plan.runtime),
        tuple(out_dir / "sdk" / p.name for p in plan.sdk),
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    """Whether something accepts connections on ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LocalIndex:
    """A ``pypiserver`` package index on ``127.0.0.1`` serving (and accepting uploads into) a temp dir.

    Authentication is off (``-a . -P .``: it listens on loopback only) and the fallback redirect to a
    public index is disabled, so a name it lacks is a 404, never someone else's file. Uploads go through
    ``publisher``'s twine (default: this toolkit's).
    """

    def __init__(self, *, startup_timeout_s: float = 30.0, publisher: Publisher | None = None) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.publisher = publisher or toolkit_twine()
        self.port = 0
        self.packages = Path()
        self.uploads: list[tuple[str, ...]] = []
        """File names of each :meth:`upload` call, in order."""
        self._process: subprocess.Popen[str] | None = None
        self._root: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"

    def start(self) -> LocalIndex:
        if self._process is not None:
            raise ToolFailed("the local index is already running")
        if importlib.util.find_spec("pypiserver") is None:
            raise ToolFailed("pypiserver is not installed: run `pip install pypiserver` (it is in the [dev] extras)")
        self._root = Path(tempfile.mkdtemp(prefix="codex-index-"))
        self.packages = self._root / "packages"
        self.packages.mkdir()
        log = self._log = open(self._root / "server.log", "wb")  # noqa: SIM115 (closed in close())
        try:
            for _attempt in range(3):
                self.port = _free_port()
                command = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(self.port)]
                command += ["-a", ".", "-P", ".", "--disable-fallback", "--log-stream", "stderr", str(self.packages)]
                self._process = processes.spawn(command, log=log, env=clean_env(), cwd=self._root)
                if self._wait_ready():
                    return self
                self._stop_process()
            tail = (self._root / "server.log").read_text(errors="replace")[-400:]
            raise ToolFailed(f"pypiserver did not start on 127.0.0.1: {' '.join(tail.split())}")
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return False

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        processes.stop(process, grace=10)

    def close(self) -> None:
        """Stop the server and delete its directory. Idempotent."""
        self._stop_process()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> LocalIndex:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def seed(self, paths: Sequence[Path]) -> None:
        """Place files in the index directly, as a stand-in for what the public index already serves."""
        for path in paths:
            shutil.copyfile(path, self.packages / path.name)

    def upload(self, paths: Sequence[Path]) -> None:
        """``twine upload`` with the publisher's twine to this index (no config file, no ``TWINE_*`` variable,
        dummy credentials). A file that twine cannot read is one line naming it (:func:`metadata_refusal`)."""
        if not self.running:
            raise ToolFailed("the local index is not running")
        config = self.packages.parent / "pypirc"
        config.write_text("[distutils]\nindex-servers =\n", encoding="utf-8")
        args = ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", f"{self.url}/"]
        args += ["--config-file", str(config), "-u", "rehearsal", "-p", "rehearsal", *map(str, paths)]
        result = processes.run(self.publisher.twine_command(*args), env=clean_env(), timeout=1800)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            if refusal_reason(output) is not None:
                # twine upload reads every file before sending any and does not say which one it refused:
                # its check names it
                refused = check_files(paths, self.publisher).get("*")
                if refused is not None:
                    raise FaultFound(refused)
            tail = " ".join(output.split())[-400:]
            raise ToolFailed(f"twine upload of {', '.join(p.name for p in paths)} failed: {tail}")
        self.uploads.append(tuple(p.name for p in paths))

    def listed(self, project: str) -> set[str]:
        """The file names on the index's simple page of ``project`` (empty when it has none)."""
        from codex_release.checks.verify_index import list_index_files

        return {item.filename for item in list_index_files(self.simple_url, project)}


Waiter = Callable[[CodexVersion, str, Path], object]


def _wait_runtime_visible(version: CodexVersion, index_url: str, dist_dir: Path) -> object:
    from codex_release.checks.resolution import wait_for_index

    return wait_for_index(
        version,
        index_url=index_url,
        dist_dir=dist_dir,
        timeout_s=120,
        interval_s=1,
        echo=lambda line: print(line, file=sys.stderr),
    )


def publish_in_order(
    index: LocalIndex,
    plan: UploadPlan,
    report: SmokeReport,
    *,
    dist_dir: Path,
    wait_visible: Waiter = _wait_runtime_visible,
) -> bool:
    """Upload the runtime batch, confirm it is visible, and only then the SDK batch. False on a failure."""
    section = "publish"
    try:
        index.upload(plan.runtime)
    except ReleaseError as exc:
        report.add(section, "upload runtime wheels", False, str(exc))
        return False
    report.add(section, "upload runtime wheels", True, f"{len(plan.runtime)} wheels")
    missing = {p.name for p in plan.runtime} - index.listed(RUNTIME_DISTRIBUTION)
    try:
        if missing:
            raise FaultFound(f"the simple page of {RUNTIME_DISTRIBUTION} lacks {', '.join(sorted(missing))}")
        wait_visible(plan.version, index.simple_url, dist_dir)
    except ReleaseError as exc:
        report.add(section, "runtime visible before the SDK", False, f"{exc}; the SDK was not uploaded")
        return False
    report.add(section, "runtime visible before the SDK", True, "every target resolves from the index")
    try:
        index.upload(plan.sdk)
    except ReleaseError as exc:
        report.add(section, "upload SDK", False, str(exc))
        return False
    listed = index.listed(SDK_DISTRIBUTION)
    ok = {p.name for p in plan.sdk} <= listed
    report.add(section, "upload SDK", ok, f"{', '.join(sorted(listed))} listed")
    return ok


def _publisher_check(publisher: Publisher, plan: UploadPlan, report: SmokeReport) -> bool:
    """The action's ``verify-metadata`` step: ``twine check --strict`` on every file with its twine."""
    failures = check_files([*plan.runtime, *plan.sdk], publisher)
    detail = "; ".join(text if name == "*" else f"{name}: {text}" for name, text in failures.items())
    report.add("publish", "twine check --strict", not failures, detail or publisher.describe())
    return not failures


def publish_rehearsal(
    dist_dir: Path,
    version: CodexVersion,
    *,
    wheelhouse: Path | None = None,
    publisher: Publisher | None = None,
    echo: Callable[[str], None] = print,
) -> SmokeReport:
    """Publish ``dist_dir`` to a loopback index in order, install by name from it, run the smoke program.

    ``publisher``: the twine that checks and uploads, as the publish action would (the CLI passes the
    pinned action's, :func:`~codex_release.checks.publisher_twine.pinned_publisher`; default: this
    toolkit's). Its ``twine check --strict`` runs first on every file; when it fails, nothing is uploaded and
    no server started.
    """
    plan = plan_uploads(dist_dir, version)
    twine = publisher or toolkit_twine()
    report = SmokeReport()
    echo(f"checking {len(plan.runtime) + len(plan.sdk)} files with {twine.describe()}")
    if not _publisher_check(twine, plan, report):
        return report  # the action would stop here too: nothing is uploaded
    files = read_release_files(dist_dir, version)
    house = dependency_wheelhouse(files, wheelhouse)
    port = 0
    with tempfile.TemporaryDirectory(prefix="codex-rehearsal-") as tmp_name, LocalIndex(publisher=twine) as index:
        port = index.port
        index.seed(sorted(house.iterdir()))
        report.add("index", "pypiserver on loopback", True, f"{index.simple_url} (fallback disabled)")
        echo(f"uploading {len(plan.runtime)} runtime wheels, then the SDK, to {index.simple_url}")
        if publish_in_order(index, plan, report, dist_dir=dist_dir):
            from codex_release.checks.verify_index import verify_index
            from codex_release.file_digests import file_sha256

            uploaded = {p.name: file_sha256(p) for p in (*plan.runtime, *plan.sdk)}
            served = verify_index(version, dist_dir, index_url=index.simple_url, expected=uploaded)
            for row in served.rows:
                report.add("verify-index", row.check, row.ok, row.detail)
            echo(f"installing {SDK_DISTRIBUTION}=={version} by name from {index.simple_url} into a fresh venv")
            try:
                fresh = FreshVenv.create(Path(tmp_name) / "venv")
                args = ["install", "--index-url", index.simple_url, "--no-cache-dir", "--only-binary=:all:"]
                fresh.pip(
                    [*args, "--quiet", f"{SDK_DISTRIBUTION}=={version}"], env=isolated_pip_env(), cwd=Path(tmp_name)
                )
            except ReleaseError as exc:
                report.add("install", f"pip install {SDK_DISTRIBUTION}=={version}", False, str(exc))
            else:
                report.add("install", f"pip install {SDK_DISTRIBUTION}=={version}", True, f"by name from {index.url}")
                run_smoke_program(fresh.python, version, report)
    stopped = not port_is_open(port)
    report.add("index", "server stopped", stopped, f"nothing listens on 127.0.0.1:{port}" if stopped else "still up")
    return report
