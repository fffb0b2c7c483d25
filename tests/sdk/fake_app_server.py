"""A tiny stand-in for ``codex app-server`` for protocol edge cases the real binary never produces on demand
(malformed and multi-MB lines, split writes, overload errors, crashes at exact points, old versions).

Run as ``fake_app_server.py app-server [--config k=v ...]`` (the way the SDK runs codex); the scenario
comes from ``FAKE_SCENARIO`` (comma-separated flags) and sizes from ``FAKE_*`` variables. ``--version``
and ``initialize`` report ``FAKE_VERSION`` (the ``fake_app_server`` fixture's launcher defaults it to the
pinned runtime). Everything the real-runtime tests can cover is tested against the real binary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

SCENARIO = set(filter(None, os.environ.get("FAKE_SCENARIO", "").split(",")))
VERSION = os.environ["FAKE_VERSION"]
DELTAS = int(os.environ.get("FAKE_DELTAS", "3"))
HUGE_BYTES = int(os.environ.get("FAKE_HUGE_BYTES", str(8 * 1024 * 1024)))
OVERLOADS = int(os.environ.get("FAKE_OVERLOADS", "0"))
ARGV_FILE = os.environ.get("FAKE_ARGV_FILE")
LOG_FILE = os.environ.get("FAKE_LOG")

out = sys.stdout.buffer


def send(message: dict[str, Any]) -> None:
    data = json.dumps(message).encode() + b"\n"
    if "split_writes" in SCENARIO:
        for start in range(0, len(data), 7):
            out.write(data[start : start + 7])
            out.flush()
    else:
        out.write(data)
        out.flush()


def notify(method: str, params: dict[str, Any]) -> None:
    send({"method": method, "params": params})


def agent_item(item_id: str, text: str) -> dict[str, Any]:
    return {"type": "agentMessage", "id": item_id, "text": text, "phase": None, "memoryCitation": None}


def turn_obj(turn_id: str, status: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": turn_id, "items": items, "status": status, "error": None}


def read_message() -> dict[str, Any] | None:
    line = sys.stdin.buffer.readline()
    if not line:
        return None
    if LOG_FILE:
        with open(LOG_FILE, "ab") as handle:
            handle.write(line)
    message: dict[str, Any] = json.loads(line)
    return message


def run_turn(thread_id: str, turn_id: str, text: str) -> None:
    notify("turn/started", {"threadId": thread_id, "turn": turn_obj(turn_id, "inProgress", [])})
    if "straggler" in SCENARIO:  # a child that inherits stdout/stderr and outlives us: no EOF when we die
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        with open(os.environ["FAKE_STRAGGLER_FILE"], "w", encoding="utf-8") as handle:
            handle.write(str(child.pid))
    if "crash_mid_turn" in SCENARIO:
        sys.stderr.write("fake app-server: simulated crash in the middle of a turn\n")
        sys.stderr.flush()
        os._exit(9)
    if "hang_mid_turn" in SCENARIO:
        return  # the turn never ends: the test kills the process
    item_id = f"msg_{turn_id}"
    pieces = [text[i::DELTAS] for i in range(DELTAS)] if "huge" not in SCENARIO else [text]
    for piece in pieces:
        notify("item/agentMessage/delta", {"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": piece})
    item = agent_item(item_id, text)
    notify("item/completed", {"threadId": thread_id, "turnId": turn_id, "item": item, "completedAtMs": 1})
    notify("turn/completed", {"threadId": thread_id, "turn": turn_obj(turn_id, "completed", [item])})


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--version"]:
        print(f"codex-cli {VERSION}")
        return 0
    if ARGV_FILE:
        with open(ARGV_FILE, "w", encoding="utf-8") as handle:
            json.dump({"argv": args, "cwd": os.getcwd(), "env": dict(os.environ), "pid": os.getpid()}, handle)
    if "child" in SCENARIO:  # a helper process of ours (own stdio closed): it must not outlive the client
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(os.environ["FAKE_CHILD_FILE"], "w", encoding="utf-8") as handle:
            handle.write(str(child.pid))
    if "unrecognized" in SCENARIO:
        sys.stderr.write("error: unrecognized subcommand 'app-server'\n")
        return 2
    if "exit_on_start" in SCENARIO:
        sys.stderr.write("fake app-server: bad configuration value for model_provider\n")
        return 3
    if "noisy_stderr" in SCENARIO:  # far more than a pipe buffer: blocks unless the client drains stderr
        for index in range(40000):
            sys.stderr.write(f"fake app-server log line {index:05d} " + "." * 40 + "\n")
        sys.stderr.flush()
    overloads_left = OVERLOADS
    turns = threads = 0
    while True:
        message = read_message()
        if message is None:
            return 0
        method, request_id = message.get("method"), message.get("id")
        params = message.get("params") or {}
        if request_id is None:
            continue  # a notification ("initialized")
        if method == "initialize":
            if "silent_initialize" in SCENARIO:
                continue
            if "not_app_server" in SCENARIO:
                send({"id": request_id, "result": {"hello": "world"}})
                continue
            name = params.get("clientInfo", {}).get("name", "client")
            result = {"userAgent": f"{name}/{VERSION} (fake)", "codexHome": "/nonexistent", "platformFamily": "unix"}
            send({"id": request_id, "result": {**result, "platformOs": "linux"}})
            if "malformed" in SCENARIO:
                out.write(b"this is not json\n")
                out.write(b"[1, 2, 3]\n")
                out.write(b'{"id": 424242, "result": {}}\n')
                out.write(b'{"neither": "fish nor fowl"}\n')
                out.write(b"\n")
                out.flush()
            continue
        if method == "thread/start":
            if overloads_left > 0:
                overloads_left -= 1
                send({"id": request_id, "error": {"code": -32001, "message": "Server overloaded; retry later."}})
                continue
            threads += 1
            if "hang_mid_turn" in SCENARIO and threads > 2:
                continue  # never answered: a request that is still pending when the process dies
            send({"id": request_id, "result": {"thread": {"id": f"thread-{threads}", "preview": ""}, "echo": params}})
            continue
        if method == "turn/start":
            turns += 1
            thread_id = params["threadId"]
            turn_id = f"turn-{turns}"
            text = "".join(part.get("text", "") for part in params.get("input", []))
            if "huge" in SCENARIO:
                text = "x" * HUGE_BYTES
            if "early_notifications" in SCENARIO:
                run_turn(thread_id, turn_id, text)
                send({"id": request_id, "result": {"turn": turn_obj(turn_id, "inProgress", [])}})
                continue
            send({"id": request_id, "result": {"turn": turn_obj(turn_id, "inProgress", [])}})
            if "server_request" in SCENARIO:
                send(
                    {
                        "id": "srv-1",
                        "method": os.environ.get("FAKE_SERVER_REQUEST", "item/commandExecution/requestApproval"),
                        "params": {"threadId": thread_id, "turnId": turn_id, "itemId": "cmd-1", "command": "rm -rf /"},
                    }
                )
                answer = read_message()
                text = json.dumps(answer)
            if "burst" in SCENARIO:
                for index in range(DELTAS):
                    notify(
                        "item/agentMessage/delta",
                        {"threadId": thread_id, "turnId": turn_id, "itemId": "burst", "delta": str(index % 10)},
                    )
            run_turn(thread_id, turn_id, text)
            continue
        if method == "turn/interrupt":
            send({"id": request_id, "result": {}})
            continue
        if method == "fake/emit":  # notifications of no turn, e.g. to flood an events subscription
            for index in range(int(params.get("count", 1))):
                notify(params.get("method", "account/rateLimits/updated"), {**params.get("params", {}), "index": index})
            send({"id": request_id, "result": {}})
            continue
        if method == "sleep":
            time.sleep(float(params.get("seconds", 0)))
            send({"id": request_id, "result": {}})
            continue
        send({"id": request_id, "error": {"code": -32601, "message": f"method not found: {method}"}})


if __name__ == "__main__":
    sys.exit(main())
