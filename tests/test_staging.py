"""The output discipline's parts (``codex_release.core.staging``); the commands are tried in test_hostile_outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from codex_release.core.record import earlier_release
from codex_release.core.staging import (
    Terminated,
    check_place,
    hold,
    replace_when_done,
    sweep_stale,
)
from codex_release.errors import DestinationRefused, ReleaseError

REPO = Path(__file__).resolve().parent.parent
HOLDER = """
import sys, time
from pathlib import Path
from codex_release.core.staging import hold
with hold(Path(sys.argv[1]), label="DEST"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "packaging"), os.environ.get("PYTHONPATH", "")])}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_scratch_of_dead_owners_only(tmp_path: Path) -> None:
    dead = _dead_pid()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / f".dist.new-{dead}-abc" / "new").mkdir(parents=True)
        (tmp_path / f".dist.new-{alive.pid}-def").mkdir()
        (tmp_path / f".other.new-{dead}-ghi").mkdir()  # another destination's scratch: not this sweep's
        (tmp_path / f".w-1.0-py3-none-any.whl.{dead}-x1y2.part").write_bytes(b"partial")
        (tmp_path / f".w-1.0-py3-none-any.whl.{alive.pid}-x1y2.part").write_bytes(b"partial")
        (tmp_path / ".dist.new-abc").mkdir()  # no PID: not ours to judge
        (tmp_path / "dist").mkdir()
        removed = sweep_stale(tmp_path, "dist")
        assert sorted(p.name for p in removed) == sorted(
            [f".dist.new-{dead}-abc", f".w-1.0-py3-none-any.whl.{dead}-x1y2.part"]
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [
                f".dist.new-{alive.pid}-def",
                f".other.new-{dead}-ghi",
                f".w-1.0-py3-none-any.whl.{alive.pid}-x1y2.part",
                ".dist.new-abc",
                "dist",
            ]
        )
    finally:
        alive.kill()
        alive.wait()


def test_a_held_destination_is_refused_naming_the_holder(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(dest), "30"], env=_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DestinationRefused, match=rf"being written by another .* \(pid {holder.pid}\)"):
            _hold_briefly(dest)
    finally:
        holder.kill()
        holder.wait()
    with hold(dest, label="DEST", wait=5):  # a lock file left by a killed holder is reused, then removed
        assert (tmp_path / ".out.lock").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(dest), "0.5"], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    with hold(dest, label="DEST", wait=30):
        assert holder.poll() is not None or holder.wait(5) == 0
    assert holder.wait() == 0
    assert list(tmp_path.iterdir()) == []


def _hold_briefly(dest: Path) -> None:
    with hold(dest, label="DEST", wait=0.2):
        pytest.fail("acquired a held lock")


def _refused_while_holding(dest: Path) -> None:
    with hold(dest, label="DEST"):
        raise ReleaseError("refused")


def test_parents_created_for_a_refused_run_are_removed(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="refused"):
        _refused_while_holding(tmp_path / "a" / "b" / "out")
    assert list(tmp_path.iterdir()) == []  # a/ and a/b/ were made for the lock, and removed with it
    (tmp_path / "c").mkdir()
    with pytest.raises(ReleaseError, match="refused"):
        _refused_while_holding(tmp_path / "c" / "d" / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # c/ existed before: kept
    assert list((tmp_path / "c").iterdir()) == []


def _terminated_mid_replace(dest: Path) -> None:
    with hold(dest, label="DEST"), replace_when_done(dest) as new:
        (new / "half").write_text("written")
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes
            pass


def test_sigterm_unwinds_while_held_and_the_handler_is_restored(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old").write_text("previous")
    with pytest.raises(Terminated):
        _terminated_mid_replace(dest)
    assert signal.getsignal(signal.SIGTERM) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in dest.iterdir()] == ["old"]


def test_keep_if_keeps_the_previous_tree(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old").write_text("previous")
    with replace_when_done(dest, keep_if=lambda new: True) as new:
        (new / "new").write_text("")
    assert [p.name for p in dest.iterdir()] == ["old"]
    with replace_when_done(dest) as new:
        (new / "new").write_text("")
    assert [p.name for p in dest.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_without_git_only_dist_of_the_checkout_is_an_output(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "docs").mkdir(parents=True)
    assert check_place(checkout / "dist", label="D", checkout=checkout, in_checkout="ignored") == checkout / "dist"
    for where in ("docs", "dist2", "docs/dist"):
        with pytest.raises(DestinationRefused, match="is not a git-ignored output directory"):
            check_place(checkout / where, label="D", checkout=checkout, in_checkout="ignored")
    with pytest.raises(DestinationRefused, match="is inside the repository"):
        check_place(checkout / "dist", label="D", checkout=checkout)


def _release_dir(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "a-1.0-py3-none-any.whl").write_bytes(b"wheel")
    (dist / "SHA256SUMS").write_text("")
    artifacts = [{"file": "a-1.0-py3-none-any.whl", "sha256": "0" * 64}]
    (dist / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return dist


def test_a_release_is_recognised_by_its_manifest(tmp_path: Path) -> None:
    dist = _release_dir(tmp_path)
    assert earlier_release(dist) is None
    (dist / "extra").mkdir()
    assert earlier_release(dist) == "holds 'extra', which no earlier release wrote"
    (dist / "extra").rmdir()
    (dist / "a-1.0-py3-none-any.whl").unlink()
    (dist / "a-1.0-py3-none-any.whl").symlink_to(tmp_path)
    assert earlier_release(dist) == "holds 'a-1.0-py3-none-any.whl', which no earlier release wrote"
    (dist / "manifest.json").write_bytes(b"\xff\xfe")
    assert earlier_release(dist) == "holds no manifest.json written by an earlier release"
    (dist / "manifest.json").write_text('{"artifacts": [1, 2]}')
    assert earlier_release(dist) == "its manifest.json was not written by a release"
