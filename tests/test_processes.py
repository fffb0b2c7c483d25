"""The one subprocess helper: timeouts that kill the whole process group, one-line errors."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from codex_release import processes
from codex_release.errors import InputRefused, ToolFailed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")


def _gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting for its new parent to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return state in {"Z", "X"}


def test_run_captures_output_and_exit_status() -> None:
    done = processes.run([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], timeout=60)
    assert (done.returncode, done.stdout.strip()) == (3, "out")


def test_check_names_the_command_and_trims_stderr() -> None:
    script = "import sys\nfor i in range(200): print(f'line {i}', file=sys.stderr)\nsys.exit(2)"
    with pytest.raises(ToolFailed) as caught:
        processes.run([sys.executable, "-c", script], timeout=60, check=True)
    message = str(caught.value)
    assert message.startswith("`python -c ")
    assert "failed (exit 2)" in message
    assert "line 199" in message
    assert "line 150" not in message
    assert "\n" not in message
    assert len(message) < 800


def test_a_hung_child_and_its_grandchild_are_killed_at_the_timeout(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; echo started >&2; sleep 300"
    started = time.monotonic()
    with pytest.raises(processes.ChildTimeout) as caught:
        processes.run(["sh", "-c", script], timeout=1.5, what="the hung child")
    elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed
    assert str(caught.value) == "the hung child did not finish within 1.5 s and was stopped: started"
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild), "the grandchild survived the timeout"


def test_the_environment_caps_every_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(processes.TIMEOUT_ENV, "0.5")
    started = time.monotonic()
    with pytest.raises(processes.ChildTimeout, match=r"within 0\.5 s"):
        processes.run(["sleep", "60"], timeout=3600)
    assert time.monotonic() - started < 10
    monkeypatch.setenv(processes.TIMEOUT_ENV, "soon")
    with pytest.raises(InputRefused, match="is not a number of seconds"):
        processes.run(["true"], timeout=10)


def test_a_missing_program_is_one_line() -> None:
    with pytest.raises(ToolFailed, match=r"cannot run `no-such-program-x --flag`: .* was not found"):
        processes.run(["no-such-program-x", "--flag"], timeout=10)


def test_input_and_undecodable_output() -> None:
    code = "import sys; data = sys.stdin.read(); sys.stdout.buffer.write(data.encode() + b'\\xff')"
    done = processes.run([sys.executable, "-c", code], timeout=60, input="hello")
    assert done.stdout == "hello\ufffd"


def test_spawn_and_stop_end_the_whole_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    child = processes.spawn(["sh", "-c", f"sleep 300 & echo $! > {pids}; wait"])
    deadline = time.monotonic() + 10
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pids.read_text())
    processes.stop(child, grace=5)
    assert child.returncode is not None
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)


def test_describe_and_tail() -> None:
    assert processes.describe([sys.executable, "-m", "twine", "check", "x.whl"]) == "python -m twine check x.whl"
    assert processes.describe(["/usr/bin/npm", "view", "x"]) == "npm view x"
    assert processes.tail("a\n\n b  c \nd", lines=2) == "b c | d"
    assert processes.tail("x" * 1000, chars=20) == "..." + "x" * 17


# A line server that, like `codex app-server`, stops at end of input, even before it has answered.
_IMPATIENT_SERVER = """
import sys, threading, time
def answer(line):
    time.sleep(0.5)
    print('{"id": 1, "result": "' + line.strip() + '"}', flush=True)
line = sys.stdin.readline()
threading.Thread(target=answer, args=(line,), daemon=True).start()
sys.stdin.read()  # returns at end of input
"""


def test_converse_keeps_stdin_open_until_the_answer() -> None:
    command = [sys.executable, "-c", _IMPATIENT_SERVER]
    closed_at_once = processes.run(command, input="hello\n", timeout=30)
    assert closed_at_once.stdout == ""  # the race run() loses: stdin closed, the server left unanswered
    served = processes.converse(command, "hello\n", answered=lambda line: '"id": 1' in line, timeout=30)
    assert served.stdout == '{"id": 1, "result": "hello"}\n'


def test_converse_times_out_and_stops_the_server() -> None:
    command = [sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(60)"]
    started = time.monotonic()
    with pytest.raises(processes.ChildTimeout, match=r"did not answer within 1 s and was stopped"):
        processes.converse(command, "x\n", answered=lambda line: True, timeout=1)
    assert time.monotonic() - started < 15
