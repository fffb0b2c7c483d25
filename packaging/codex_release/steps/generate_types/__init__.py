"""``generate-types``: the SDK's generated package, written from the pinned runtime's own JSON Schema.

Pipeline (every step deterministic, so the committed output can be checked for drift):

1. :mod:`.runtime`: ``codex app-server generate-json-schema`` (with a fresh ``CODEX_HOME``) exports the
   protocol bundle.
2. :mod:`.schema`: the bundle flattened into one JSON Schema, and the method registries.
3. :mod:`.models`: ``datamodel-code-generator`` writes ``protocol.py`` (pydantic models over the SDK's
   hand-written ``CodexModel``), read back as an AST.
4. :mod:`.render` writes the registries and ``__init__.py``; :mod:`.methods` writes ``rpc.py`` (``codex.rpc``)
   and ``api.py`` (the named methods of ``Codex``, ``Thread``, ..., described in :mod:`.surface`), each as
   blocking and coroutine twins with the schema's typed parameters.

The result is written to a temporary sibling of the output directory and swapped in with renames, so
an interrupted run leaves the old files in place. ``--check`` compares instead of writing. Where it may
write is :mod:`codex_release.core.staging`'s rule (``in_checkout="generated"``); what it may replace outside the
checkout is an earlier output of this command, recognised by the generated header of its ``__init__.py``.
"""

from __future__ import annotations

import filecmp
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_release.core.staging import check_place, check_replaceable, hold, replace_when_done
from codex_release.core.versions import CodexVersion
from codex_release.errors import DestinationRefused, FaultFound, InputRefused
from codex_release.steps.generate_types.methods import rpc_method_name
from codex_release.steps.generate_types.render import HEADER_START, render_package
from codex_release.steps.generate_types.runtime import (
    BUNDLE_NAME,
    checked_binary,
    codex_binary_version,
    export_bundle,
    host_codex_binary,
    run_schema_export,
)
from codex_release.steps.generate_types.schema import MethodRegistry, flatten_bundle

__all__ = [
    "BUNDLE_NAME",
    "GeneratedTypes",
    "MethodRegistry",
    "check_generated",
    "codex_binary_version",
    "earlier_generation",
    "export_bundle",
    "flatten_bundle",
    "generate_into",
    "generate_types",
    "host_codex_binary",
    "render_package",
    "rpc_method_name",
    "run_schema_export",
]

REGENERATE_HINT = "run `codex-release generate-types` (or `make generate-types`) and commit the result"


def generate_into(codex_bin: Path, dest: Path, bundle: Mapping[str, Any] | None = None) -> CodexVersion:
    """Render the package of ``codex_bin``'s schema into the empty directory ``dest`` (``bundle``: its
    export, when the caller already has it)."""
    version = codex_binary_version(codex_bin)
    schema, registry = flatten_bundle(bundle if bundle is not None else export_bundle(codex_bin))
    render_package(schema, registry, version, dest)
    return version


def _tree(root: Path) -> dict[str, Path]:
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def check_generated(expected: Path, actual: Path) -> list[str]:
    """Files that differ between a fresh generation (``expected``) and the committed one (``actual``)."""
    if not actual.is_dir():
        return ["(the whole directory is missing)"]
    want, have = _tree(expected), _tree(actual)
    drift = [f"{name} (missing)" for name in want if name not in have]
    drift += [f"{name} (not generated)" for name in have if name not in want]
    drift += [name for name in want if name in have and not filecmp.cmp(want[name], have[name], shallow=False)]
    return sorted(drift)


def earlier_generation(out_dir: Path) -> str | None:
    """``None`` when ``out_dir`` is a package this command generated (its ``__init__.py`` carries our header)."""
    try:
        with open(out_dir / "__init__.py", encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        first = ""
    if first.startswith(HEADER_START):
        return None
    return "is not a package generate-types wrote (no generated __init__.py)"


@dataclass(frozen=True)
class GeneratedTypes:
    """What ``generate-types`` did."""

    codex_version: CodexVersion
    out_dir: Path
    changed: bool


def generate_types(
    *,
    codex_bin: Path | None = None,
    codex_version: CodexVersion | None = None,
    out_dir: Path,
    checkout: Path,
    check: bool = False,
    bundle: Mapping[str, Any] | None = None,
) -> GeneratedTypes:
    """Regenerate the models into ``out_dir`` (the CLI's default: the SDK's ``generated`` package), atomically.

    ``codex_bin`` defaults to the runtime of ``codex_version`` (one of the two is needed), fetched.
    ``checkout`` is the root of the checkout whose output rules apply. With ``check``, nothing is written:
    a :class:`FaultFound` names the files that differ. ``bundle`` is ``codex_bin``'s schema export when
    the caller already has it (``bump`` compared it first).
    """
    out = out_dir.absolute()
    if codex_bin is not None:
        binary = checked_binary(codex_bin)
        if codex_version is not None and codex_binary_version(binary) != codex_version:
            raise InputRefused(
                f"--codex-bin {codex_bin} is Codex {codex_binary_version(binary)}, not the requested "
                f"{codex_version}: drop --codex-version or pass the matching binary"
            )
    elif codex_version is not None:
        binary = host_codex_binary(codex_version)
    else:
        raise ValueError("generate_types needs codex_bin or codex_version")

    if check:
        with tempfile.TemporaryDirectory(prefix="codex-generated-") as fresh:
            version = generate_into(binary, Path(fresh), bundle)
            drift = check_generated(Path(fresh), out)
        if drift:
            raise FaultFound(
                f"generated types in {out} are out of date with Codex {version} ({', '.join(drift)}): {REGENERATE_HINT}"
            )
        return GeneratedTypes(version, out, changed=False)

    if out.exists() and not out.is_dir():
        raise DestinationRefused(f"--out {out} is a file, not a directory: pass a directory")
    out = check_place(out, label="--out", checkout=checkout, in_checkout="generated")
    with hold(out, label="--out"):
        check_replaceable(
            out,
            label="--out",
            overwrite=False,
            ours=earlier_generation,
            fix="pass an empty directory or an earlier generate-types output",
        )
        differs: list[str] = []
        with replace_when_done(out, keep_if=lambda _new: not differs) as new:
            new.chmod(0o755)  # the package directory must be readable like any other
            version = generate_into(binary, new, bundle)
            differs.extend(check_generated(new, out))
    changed = bool(differs)
    return GeneratedTypes(version, out, changed=changed)
