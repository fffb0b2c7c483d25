"""The runtime side of ``generate-types``: run a ``codex`` binary for its version and its JSON Schema.

Every run gets a fresh, empty ``CODEX_HOME`` so no user configuration can change what the binary reports.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codex_release import processes
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import InputRefused, ToolFailed, Unsupported

__all__ = [
    "BUNDLE_NAME",
    "checked_binary",
    "codex_binary_version",
    "export_bundle",
    "host_codex_binary",
    "run_checked",
    "run_schema_export",
]

BUNDLE_NAME = "codex_app_server_protocol.schemas.json"
"""The protocol bundle ``generate-json-schema`` writes (every definition, v1 and v2)."""


def host_codex_binary(version: CodexVersion) -> Path:
    """The ``codex`` executable of ``version`` for this host, fetched (integrity-checked) and cached."""
    from codex_release.core.runtime_source import read_manifest
    from codex_release.core.targets import host_target
    from codex_release.steps.fetch import fetched_package_dir

    package = fetched_package_dir(version, host_target(), include_voice=False)
    return package / read_manifest(package).entrypoint


def checked_binary(codex_bin: Path) -> Path:
    if not codex_bin.is_file():
        raise InputRefused(f"--codex-bin {codex_bin} does not exist: pass the path of a codex executable")
    if not os.access(codex_bin, os.X_OK):
        raise InputRefused(f"--codex-bin {codex_bin} is not executable: chmod +x it or pass another binary")
    return codex_bin


@contextmanager
def _codex_home() -> Iterator[dict[str, str]]:
    """An environment with a fresh, empty ``CODEX_HOME`` (no user config can change the schema)."""
    with tempfile.TemporaryDirectory(prefix="codex-home-") as home:
        yield {**os.environ, "CODEX_HOME": home}


def run_checked(args: list[str], env: Mapping[str, str], what: str, cwd: Path | None = None) -> str:
    result = processes.run(args, env=env, cwd=cwd, timeout=300, what=what)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-5:])
        raise ToolFailed(f"{what} failed with exit status {result.returncode}: {tail}")
    return result.stdout


_VERSION_RE = re.compile(r"^codex-cli\s+(\S+)\s*$", re.MULTILINE)


def codex_binary_version(codex_bin: Path) -> CodexVersion:
    """The version a codex binary reports (``codex --version`` prints ``codex-cli X``)."""
    with _codex_home() as env:
        output = run_checked([str(codex_bin), "--version"], env, f"{codex_bin} --version")
    match = _VERSION_RE.search(output)
    if not match:
        raise InputRefused(f"{codex_bin} --version printed {output.strip()!r}, not `codex-cli X`: is it codex?")
    return parse_codex_version(match[1])


def run_schema_export(codex_bin: Path, dest: Path) -> Path:
    """Run ``codex app-server generate-json-schema --out dest``; return the protocol bundle path."""
    with _codex_home() as env:
        run_checked(
            [str(codex_bin), "app-server", "generate-json-schema", "--out", str(dest)],
            env,
            "codex app-server generate-json-schema",
        )
    bundle = dest / BUNDLE_NAME
    if not bundle.is_file():
        raise Unsupported(
            f"codex app-server generate-json-schema wrote no {BUNDLE_NAME}: this runtime's schema layout is "
            "not supported by generate-types; update codex_release.steps.generate_types"
        )
    return bundle


def export_bundle(codex_bin: Path) -> dict[str, Any]:
    """The protocol bundle ``codex_bin`` exports (``generate-json-schema``), parsed."""
    with tempfile.TemporaryDirectory(prefix="codex-schema-export-") as export:
        bundle_path = run_schema_export(codex_bin, Path(export))
        try:
            bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ToolFailed(f"{BUNDLE_NAME} from codex is not valid JSON: {exc}") from None
    if not isinstance(bundle, dict):
        raise InputRefused(f"{BUNDLE_NAME} from {codex_bin} is not a JSON object: is it codex?")
    return bundle
