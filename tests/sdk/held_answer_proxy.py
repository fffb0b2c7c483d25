"""Run the real ``codex`` between the SDK and itself, holding back the answer to the first request of one
method for a while, so a test can cancel its caller while the runtime already acts on the request.

``python held_answer_proxy.py CODEX_BIN ARGS...``; ``HOLD_METHOD`` (e.g. ``turn/start``) and ``HOLD_S``
(seconds) in the environment. Every other line passes through as it comes; stderr is inherited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import IO


def main() -> int:
    method, hold = os.environ["HOLD_METHOD"], float(os.environ["HOLD_S"])
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None
    assert child.stdout is not None
    held: list[object] = []  # the id of the request whose answer is held (at most one)
    out_lock = threading.Lock()

    def write_out(line: bytes) -> None:
        with out_lock:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()

    def forward_requests(child_stdin: IO[bytes]) -> None:
        for line in sys.stdin.buffer:
            message = json.loads(line) if line.strip() else {}
            if message.get("method") == method and "id" in message and not held:
                held.append(message["id"])
            child_stdin.write(line)
            child_stdin.flush()
        child_stdin.close()

    threading.Thread(target=forward_requests, args=(child.stdin,), daemon=True).start()
    for line in child.stdout:
        message = json.loads(line) if line.strip() else {}
        if held and message.get("id") == held[0] and "method" not in message:
            held.append("answered")
            threading.Timer(hold, write_out, args=(line,)).start()
            continue
        write_out(line)
    time.sleep(hold)  # let a held answer go out before the pipe closes
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
