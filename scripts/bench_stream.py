"""Streaming a long turn: the SDK's Python CPU time and wall time vs a minimal raw JSON-RPC driver.

    python scripts/bench_stream.py [--deltas 20000] [--repeat 5] [--modes raw,sync,async] [--target 1.3]
                                   [--baseline DIR]

The real pinned ``codex app-server`` runs against the toolkit's fake Responses-API model, which answers
the turn with one assistant message streamed as ``--deltas`` ``response.output_text.delta`` events (the
runtime turns each into an ``item/agentMessage/delta`` notification). Each sample is a fresh worker
interpreter that starts the app-server, initialises it and starts a thread (not measured), then measures
``time.process_time()`` (its CPU time, every thread) and ``time.perf_counter()`` from sending
``turn/start`` until ``turn/completed`` has been read:

* ``raw``: a minimal driver: ``Popen`` pipes, ``readline`` and ``json.loads`` on every line, nothing else;
* ``sync``: ``for note in thread.turn(...).stream()`` on :class:`openai_codex.Codex`, reading each delta's
  text (``note.params["delta"]``), then ``handle.result()``;
* ``async``: the same with ``async for`` on :class:`openai_codex.AsyncCodex`.

``--baseline DIR`` adds the modes ``sync-base`` and ``async-base``: the same workers importing
``openai_codex`` from ``DIR`` (a copy of another version's ``sdk/src``), alternated with the others, so a
change is measured side by side with what it replaces (only ``sync`` / ``async`` count for the verdict).

The fake model runs in this (the parent) process, so its CPU time is in no sample; the runtime's own
CPU time is not counted either (it is another process). Samples alternate between the modes so that
machine load affects each alike. Prints the medians, the CPU and wall ratios to ``raw`` and whether the
targets (CPU <= ``--target`` x raw, wall within ``--wall-tolerance`` of raw) are met; exits 1 when not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

MODES = ("raw", "sync", "async")


def _codex_bin() -> str:
    """The pinned runtime that runs on this machine (fetched and unpacked as the tests do)."""
    from pathlib import Path

    from codex_release.core.pins import pinned_runtime_version
    from codex_release.core.runtime_source import read_manifest
    from codex_release.core.targets import host_target
    from codex_release.steps.fetch import fetched_package_dir

    pyproject = Path(__file__).resolve().parent.parent / "sdk" / "pyproject.toml"
    package = fetched_package_dir(pinned_runtime_version(pyproject), host_target())
    return str(package / read_manifest(package).entrypoint)


# ------------------------------------------------------------------------------------------ workers
def _raw(codex_bin: str, overrides: list[str], home: str) -> dict[str, Any]:
    """The baseline: the JSON-RPC lines read and parsed, with nothing else done to them."""
    import os

    argv = [codex_bin, "app-server"]
    for override in overrides:
        argv += ["--config", override]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CODEX_HOME": home},
        cwd=home,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def send(message: dict[str, Any]) -> None:
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()

    def answer(request_id: int) -> dict[str, Any]:
        while True:
            message = json.loads(stdout.readline())
            if message.get("id") == request_id and "method" not in message:
                return message  # type: ignore[no-any-return]

    send({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "bench", "version": "0"}}})
    answer(1)
    send({"method": "initialized"})
    send({"id": 2, "method": "thread/start", "params": {}})
    thread_id = answer(2)["result"]["thread"]["id"]

    def turn(request_id: int) -> int:
        start = {"threadId": thread_id, "input": [{"type": "text", "text": "go"}]}
        send({"id": request_id, "method": "turn/start", "params": start})
        deltas = 0
        while True:
            message = json.loads(stdout.readline())
            method = message.get("method")
            if method == "item/agentMessage/delta":
                deltas += 1
            elif method == "turn/completed":
                return deltas

    turn(3)  # the warm-up turn
    cpu, wall = time.process_time(), time.perf_counter()
    deltas = turn(4)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stdin.close()
    proc.wait(timeout=30)
    return {"cpu": cpu, "wall": wall, "deltas": deltas}


def _sync(codex_bin: str, overrides: list[str], home: str) -> dict[str, Any]:
    from openai_codex import Codex, CodexConfig

    config = CodexConfig(codex_bin=codex_bin, config_overrides=overrides, env={"CODEX_HOME": home}, cwd=home)
    with Codex(config) as codex:
        thread = codex.thread_start()
        thread.run("warm up")
        cpu, wall = time.process_time(), time.perf_counter()
        handle = thread.turn("go")
        deltas = 0
        for note in handle.stream():
            if note.method == "item/agentMessage/delta":
                deltas += len(note.params["delta"]) > 0
        result = handle.result()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert result.final_response, result
    return {"cpu": cpu, "wall": wall, "deltas": deltas}


def _async(codex_bin: str, overrides: list[str], home: str) -> dict[str, Any]:
    import asyncio

    from openai_codex import AsyncCodex, CodexConfig

    async def main() -> dict[str, Any]:
        config = CodexConfig(codex_bin=codex_bin, config_overrides=overrides, env={"CODEX_HOME": home}, cwd=home)
        async with AsyncCodex(config) as codex:
            thread = await codex.thread_start()
            await thread.run("warm up")
            cpu, wall = time.process_time(), time.perf_counter()
            handle = await thread.turn("go")
            deltas = 0
            async for note in handle.stream():
                if note.method == "item/agentMessage/delta":
                    deltas += len(note.params["delta"]) > 0
            result = await handle.result()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert result.final_response, result
        return {"cpu": cpu, "wall": wall, "deltas": deltas}

    return asyncio.run(main())


_WORKERS = {"raw": _raw, "sync": _sync, "async": _async}


# ------------------------------------------------------------------------------------------ driver
def _sample(mode: str, codex_bin: str, overrides: list[str], baseline: str | None) -> dict[str, Any]:
    import os

    env = dict(os.environ)
    worker = mode
    if mode.endswith("-base"):
        assert baseline is not None
        worker = mode.removesuffix("-base")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as home:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", worker, "--codex-bin", codex_bin, "--home", home, *overrides],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    if done.returncode != 0:
        raise SystemExit(f"the {mode} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--target", type=float, default=1.3, help="the highest CPU ratio to raw that passes")
    parser.add_argument("--wall-tolerance", type=float, default=0.05, help="how much slower than raw wall may be")
    parser.add_argument("--codex-bin", default=None)
    parser.add_argument("--baseline", default=None, help="a directory holding another openai_codex to compare")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    codex_bin = args.codex_bin or _codex_bin()
    if args.worker:
        print(json.dumps(_WORKERS[args.worker](codex_bin, rest, args.home)))
        return 0

    from codex_release.checks.fake_responses import FakeResponsesServer, Text

    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if "raw" not in modes:
        modes.insert(0, "raw")
    if args.baseline:
        modes += [f"{mode}-base" for mode in ("sync", "async") if mode in modes]
    samples: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    with FakeResponsesServer() as fake:
        overrides = fake.config_overrides()
        for index in range(args.repeat):
            for mode in modes:
                fake.enqueue(Text("warm up"), Text("x" * args.deltas, deltas=args.deltas))
                sample = _sample(mode, codex_bin, overrides, args.baseline)
                if sample["deltas"] != args.deltas:
                    raise SystemExit(f"{mode}: got {sample['deltas']} deltas, expected {args.deltas}")
                samples[mode].append(sample)
                print(f"  run {index + 1}/{args.repeat} {mode:10} cpu {sample['cpu']:.3f}s  wall {sample['wall']:.3f}s")
    raw_cpu = statistics.median(s["cpu"] for s in samples["raw"])
    raw_wall = statistics.median(s["wall"] for s in samples["raw"])
    ok = True
    print(f"\n{args.deltas} deltas, median of {args.repeat}")
    print("| driver | Python CPU (s) | CPU / raw | wall (s) | wall / raw |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for mode in modes:
        cpu = statistics.median(s["cpu"] for s in samples[mode])
        wall = statistics.median(s["wall"] for s in samples[mode])
        print(f"| {mode} | {cpu:.3f} | {cpu / raw_cpu:.2f}x | {wall:.3f} | {wall / raw_wall:.3f}x |")
        if mode in ("sync", "async"):
            ok = ok and cpu / raw_cpu <= args.target and wall / raw_wall <= 1 + args.wall_tolerance
    verdict = "met" if ok else "NOT met"
    print(f"\ntarget (CPU <= {args.target}x raw, wall <= {1 + args.wall_tolerance:.2f}x raw): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
