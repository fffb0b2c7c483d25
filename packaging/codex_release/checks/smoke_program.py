"""The smoke program: run by a fresh venv's interpreter (``python -I smoke_program.py SPEC_JSON``).

It imports nothing from the release toolkit: only the standard library and what the venv installed
(``openai_codex`` and ``codex_cli_bin``). The toolkit runs the fake model server in its own process and
passes the provider overrides in SPEC_JSON::

    {"version": "0.169.0", "semver": "0.169.0", "config_overrides": ["model_provider=...", ...],
     "codex_home": "/tmp/...", "workdir": "/tmp/...", "prompt": "...", "expected_text": "..."}

Each check prints one JSON line ``{"check": ..., "ok": ..., "detail": ...}``; the exit status is 0 only
when every check passed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import sysconfig
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

RUNTIME = "openai-codex-cli-bin"
SDK = "openai-codex"


def _emit(check: str, ok: bool, detail: str) -> bool:
    print(json.dumps({"check": check, "ok": ok, "detail": detail}), flush=True)
    return ok


def _site_dirs() -> list[Path]:
    paths = sysconfig.get_paths()
    return [Path(paths[key]).resolve() for key in ("purelib", "platlib")]


def _from_venv(module_file: str | None) -> bool:
    if module_file is None:
        return False
    resolved = Path(module_file).resolve()
    return any(site == resolved or site in resolved.parents for site in _site_dirs())


def _not_editable(distribution: str) -> str | None:
    """A problem with how ``distribution`` is installed, or None."""
    text = metadata.distribution(distribution).read_text("direct_url.json")
    if text and json.loads(text).get("dir_info", {}).get("editable"):
        return f"{distribution} is an editable install"
    return None


def check_isolation(spec: dict[str, Any]) -> str:
    if sys.prefix == sys.base_prefix:
        raise AssertionError(f"not running in a virtual environment (sys.prefix={sys.prefix})")
    if os.environ.get("PYTHONPATH"):
        raise AssertionError(f"PYTHONPATH leaks into the smoke run: {os.environ['PYTHONPATH']}")
    return f"venv {sys.prefix}, Python {sys.version.split()[0]}, cwd {os.getcwd()}"


def check_import(module_name: str, distribution: str, spec: dict[str, Any]) -> str:
    module = __import__(module_name)
    if not _from_venv(module.__file__):
        raise AssertionError(f"{module_name} imported from {module.__file__}, not from {_site_dirs()[0]}")
    installed = metadata.version(distribution)
    if installed != spec["version"]:
        raise AssertionError(f"{distribution} {installed} is installed, expected {spec['version']}")
    problem = _not_editable(distribution)
    if problem:
        raise AssertionError(problem)
    return f"{distribution} {installed} from {Path(str(module.__file__)).parent}"


def check_binary_version(spec: dict[str, Any]) -> str:
    import codex_cli_bin

    expected = f"codex-cli {spec['semver']}"
    codex = codex_cli_bin.bundled_codex_path()
    if not _from_venv(str(codex)):
        raise AssertionError(f"the bundled codex {codex} is outside the venv")
    outputs = []
    for command in ([str(codex), "--version"], [sys.executable, "-m", "codex_cli_bin", "--version"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        text = result.stdout.strip()
        if result.returncode != 0 or text != expected:
            raise AssertionError(f"`{' '.join(command[-3:])}` printed {text!r} (exit {result.returncode})")
        outputs.append(text)
    return f"{outputs[0]} ({codex})"


def _config(spec: dict[str, Any]) -> Any:
    from openai_codex import CodexConfig

    return CodexConfig(
        config_overrides=spec["config_overrides"],
        env={"CODEX_HOME": spec["codex_home"]},
        cwd=spec["workdir"],
        client_name="codex_release_smoke",
    )


def check_sync_turn(spec: dict[str, Any]) -> str:
    from openai_codex import Codex

    with Codex(_config(spec)) as codex:
        thread = codex.thread_start()
        result = thread.run(spec["prompt"])
        if result.final_response != spec["expected_text"]:
            raise AssertionError(f"final_response {result.final_response!r} != {spec['expected_text']!r}")
        return f"thread {thread.id}: {result.final_response!r} (runtime {codex.runtime_version})"


def check_async_turn(spec: dict[str, Any]) -> str:
    from openai_codex import AsyncCodex

    async def turn() -> str:
        async with AsyncCodex(_config(spec)) as codex:
            thread = await codex.thread_start()
            result = await thread.run(spec["prompt"])
            if result.final_response != spec["expected_text"]:
                raise AssertionError(f"final_response {result.final_response!r} != {spec['expected_text']!r}")
            return f"thread {thread.id}: {result.final_response!r}"

    return asyncio.run(turn())


def _first_python_block(markdown: str) -> str:
    lines = markdown.splitlines()
    start = lines.index("```python") + 1
    return "\n".join(lines[start : lines.index("```", start)]) + "\n"


def check_readme_quickstart(spec: dict[str, Any]) -> str:
    """Run the README's quickstart exactly as published (the installed package's description).

    The quickstart is plain ``Codex()``: the fake model reaches it the way a user's own settings would,
    through ``CODEX_HOME/config.toml``.
    """
    description = metadata.metadata(SDK).get_payload()  # type: ignore[attr-defined]
    code = _first_python_block(str(description))
    home = Path(spec["codex_home"]) / "quickstart"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("\n".join(spec["config_overrides"]) + "\n", encoding="utf-8")
    env = {**os.environ, "CODEX_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=spec["workdir"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or result.stdout.strip() != spec["expected_text"]:
        tail = " ".join(result.stderr.split())[-300:]
        raise AssertionError(f"quickstart printed {result.stdout.strip()!r} (exit {result.returncode}): {tail}")
    return f"printed {result.stdout.strip()!r}"


def main(argv: list[str]) -> int:
    spec: dict[str, Any] = json.loads(argv[1])
    checks: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("isolated venv", check_isolation),
        ("import openai_codex", lambda s: check_import("openai_codex", SDK, s)),
        ("import codex_cli_bin", lambda s: check_import("codex_cli_bin", RUNTIME, s)),
        ("bundled codex --version", check_binary_version),
        ("sync turn (Codex)", check_sync_turn),
        ("async turn (AsyncCodex)", check_async_turn),
        ("README quickstart as published", check_readme_quickstart),
    ]
    all_ok = True
    for name, check in checks:
        try:
            all_ok &= _emit(name, True, check(spec))
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1]
            all_ok &= _emit(name, False, f"{type(exc).__name__}: {exc} (at {Path(last.filename).name}:{last.lineno})")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
