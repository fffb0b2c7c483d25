"""``python -m openai_codex doctor [--json]``.

Reports the SDK version, the runtime (path, version, sha256, whether it is the pinned one), ``CODEX_HOME``,
the auth state and one ``initialize`` round trip with its time. The configuration is
``CodexConfig.from_env()`` (``OPENAI_CODEX_BIN``, ``OPENAI_CODEX_CONFIG``). Exit status 1 when the SDK
cannot work (runtime missing or not starting, ``initialize`` failing, an incompatible runtime); not
being signed in is reported, not an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

from openai_codex._runtime import launch_spec, pinned_version, probe_version, sdk_version
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError

__all__ = ["diagnose", "main"]


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def diagnose(config: CodexConfig) -> dict[str, Any]:
    """Everything ``doctor`` reports; ``ok`` is False when the SDK cannot work with ``config``."""
    report: dict[str, Any] = {"sdk_version": sdk_version(), "pinned_runtime_version": pinned_version(), "ok": False}
    env = {**os.environ, **(config.env or {})}
    report["codex_home"] = env.get("CODEX_HOME") or str(Path("~/.codex").expanduser())
    try:
        argv, launch_env = launch_spec(config)
    except CodexError as exc:
        report["error"] = str(exc)
        return report
    binary = argv[0]
    report["runtime_path"] = binary
    report["runtime_sha256"] = _sha256(binary)
    report["runtime_version"] = None  # (its place in the report) from initialize; `codex --version` if need be
    from openai_codex._client import Codex

    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the drift is reported below, as a field
            codex = Codex(config)
    except CodexError as exc:
        report["runtime_version"] = probe_version(binary, launch_env)
        report["error"] = str(exc)
        return report
    try:
        report["initialize_ms"] = round((time.perf_counter() - started) * 1000, 1)
        report["runtime_version"] = codex.runtime_version or probe_version(binary, launch_env)
        report["user_agent"] = codex.user_agent
        try:
            account = codex.account()
            kind = getattr(account.account, "type", None) if account.account is not None else None
            report["auth"] = {"signed_in": account.account is not None, "type": kind}
        except CodexError as exc:
            report["auth"] = {"signed_in": None, "error": str(exc)}
    finally:
        codex.close()
    report["runtime_is_pinned"] = report["runtime_version"] == report["pinned_runtime_version"]
    report["ok"] = True
    return report


def _text(report: dict[str, Any]) -> str:
    auth = report.get("auth") or {}
    signed = auth.get("signed_in")
    auth_text = f"signed in ({auth.get('type')})" if signed else "not signed in" if signed is False else "unknown"
    pinned = report.get("runtime_is_pinned")
    rows = [
        ("SDK version", report["sdk_version"]),
        ("runtime", report.get("runtime_path", "-")),
        ("runtime version", report.get("runtime_version") or "-"),
        ("runtime sha256", report.get("runtime_sha256") or "-"),
        (
            "pinned runtime",
            report["pinned_runtime_version"]
            + ("" if pinned is None else " (this is it)" if pinned else " (a different runtime runs)"),
        ),
        ("CODEX_HOME", report["codex_home"]),
        ("auth", auth_text if report["ok"] else "-"),
        ("initialize", f"{report['initialize_ms']} ms" if "initialize_ms" in report else "-"),
    ]
    lines = [f"{name:<16} {value}" for name, value in rows]
    lines.append("status           " + ("ok" if report["ok"] else f"FAILED: {report.get('error')}"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openai_codex", description="openai-codex SDK tools")
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="check that the SDK can start and talk to its Codex runtime")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = diagnose(CodexConfig.from_env())
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return 0 if report["ok"] else 1
