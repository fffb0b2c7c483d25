"""``generate-types``: pydantic v2 models of the app-server protocol, generated from the pinned runtime.

Pipeline (every step deterministic, so the committed output can be checked for drift):

1. ``codex app-server generate-json-schema --out TMP`` (``CODEX_HOME`` is a fresh temp dir) writes the
   protocol bundle ``codex_app_server_protocol.schemas.json``: top-level definitions plus a ``v2``
   namespace of definitions.
2. :func:`flatten_bundle` merges both namespaces into one (identical duplicates are dropped, conflicting
   ones are an error), rewrites ``#/definitions/v2/X`` references, and sets the JSON-RPC envelopes
   (``ServerNotification``, ``ClientRequest``, ...) aside: they only say which method carries which
   params type, which becomes the method registries, not models.
3. ``datamodel-code-generator`` (as a subprocess: it keeps process-wide state) writes ``protocol.py``.
   Options that shape the API: snake_case fields with camelCase aliases, ``str`` enums, ``Literal`` for
   single-value enums, ``TypeAliasType`` for unions (``ThreadItem``), class names from schema titles,
   the built-in formatter (no external formatter version can change the bytes), and no
   ``from __future__ import annotations`` (pydantic would have to compile every annotation string at
   import, which doubles the import time of ~800 models).
4. Hand-written templates add ``_base.py`` (the shared ``CodexModel`` config), ``notifications.py``
   (``NOTIFICATION_MODELS``: method -> payload model), ``rpc_methods.py`` (request params/results per
   method), ``rpc.py`` (``codex.rpc``: one typed method per client request, sync and async, with the
   params' fields as keyword arguments, read from the generated models' AST) and a light ``__init__.py``
   naming the Codex version.

The result is written to a temporary sibling of the output directory and swapped in with renames, so
an interrupted run leaves the old files in place. ``--check`` compares instead of writing. Where it may
write is :mod:`codex_release.core.staging`'s rule (``in_checkout="generated"``); what it may replace outside the
checkout is an earlier output of this command, recognised by the generated header of its ``__init__.py``.
"""

from __future__ import annotations

import ast
import filecmp
import json
import keyword
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from codex_release import processes
from codex_release.core.staging import check_place, check_replaceable, hold, replace_when_done
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ReleaseError

__all__ = [
    "BUNDLE_NAME",
    "GeneratedTypes",
    "MethodRegistry",
    "check_generated",
    "codex_binary_version",
    "export_bundle",
    "flatten_bundle",
    "generate_into",
    "generate_types",
    "host_codex_binary",
    "render_package",
    "run_schema_export",
]

BUNDLE_NAME = "codex_app_server_protocol.schemas.json"
"""The protocol bundle ``generate-json-schema`` writes (every definition, v1 and v2)."""

PACKAGE = "openai_codex.generated"
MODELS_MODULE = "protocol"
BASE_CLASS = "CodexModel"
REGENERATE_HINT = "run `codex-release generate-types` (or `make generate-types`) and commit the result"

_ENVELOPES = {
    "ServerNotification": "notification",
    "ServerRequest": "request",
    "ClientRequest": "request",
    "ClientNotification": "notification",
}
_DROPPED = frozenset(
    {*_ENVELOPES, "JSONRPCMessage", "JSONRPCRequest", "JSONRPCResponse", "JSONRPCNotification", "JSONRPCError"}
    | {"JSONRPCErrorError"}
)
_V2_PREFIX = "#/definitions/v2/"

_DATAMODEL_OPTIONS = (
    "--input-file-type=jsonschema",
    "--output-model-type=pydantic_v2.BaseModel",
    "--target-python-version=3.10",
    "--use-standard-collections",
    "--use-union-operator",
    "--snake-case-field",
    "--use-subclass-enum",
    "--enum-field-as-literal=one",
    "--use-title-as-name",
    "--use-type-alias",
    "--use-schema-description",
    "--use-field-description",
    "--use-double-quotes",
    "--disable-timestamp",
    "--disable-future-imports",
    "--disable-warnings",
    "--formatters",
    "builtin",
    f"--base-class={PACKAGE}._base.{BASE_CLASS}",
)


# -- the runtime -----------------------------------------------------------------------------------------


def host_codex_binary(version: CodexVersion) -> Path:
    """The ``codex`` executable of ``version`` for this host, fetched (integrity-checked) and cached."""
    from codex_release.core.runtime_source import read_manifest
    from codex_release.core.targets import host_target
    from codex_release.steps.fetch import fetched_package_dir

    package = fetched_package_dir(version, host_target(), include_voice=False)
    return package / read_manifest(package).entrypoint


def _checked_binary(codex_bin: Path) -> Path:
    if not codex_bin.is_file():
        raise ReleaseError(f"--codex-bin {codex_bin} does not exist: pass the path of a codex executable")
    if not os.access(codex_bin, os.X_OK):
        raise ReleaseError(f"--codex-bin {codex_bin} is not executable: chmod +x it or pass another binary")
    return codex_bin


@contextmanager
def _codex_home() -> Iterator[dict[str, str]]:
    """An environment with a fresh, empty ``CODEX_HOME`` (no user config can change the schema)."""
    with tempfile.TemporaryDirectory(prefix="codex-home-") as home:
        yield {**os.environ, "CODEX_HOME": home}


def _run(args: list[str], env: Mapping[str, str], what: str, cwd: Path | None = None) -> str:
    result = processes.run(args, env=env, cwd=cwd, timeout=300, what=what)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-5:])
        raise ReleaseError(f"{what} failed with exit status {result.returncode}: {tail}")
    return result.stdout


_VERSION_RE = re.compile(r"^codex-cli\s+(\S+)\s*$", re.MULTILINE)


def codex_binary_version(codex_bin: Path) -> CodexVersion:
    """The version a codex binary reports (``codex --version`` prints ``codex-cli X``)."""
    with _codex_home() as env:
        output = _run([str(codex_bin), "--version"], env, f"{codex_bin} --version")
    match = _VERSION_RE.search(output)
    if not match:
        raise ReleaseError(f"{codex_bin} --version printed {output.strip()!r}, not `codex-cli X`: is it codex?")
    return parse_codex_version(match[1])


def run_schema_export(codex_bin: Path, dest: Path) -> Path:
    """Run ``codex app-server generate-json-schema --out dest``; return the protocol bundle path."""
    with _codex_home() as env:
        _run(
            [str(codex_bin), "app-server", "generate-json-schema", "--out", str(dest)],
            env,
            "codex app-server generate-json-schema",
        )
    bundle = dest / BUNDLE_NAME
    if not bundle.is_file():
        raise ReleaseError(
            f"codex app-server generate-json-schema wrote no {BUNDLE_NAME}: this runtime's schema layout is "
            "not supported by generate-types; update codex_release.steps.generate_types"
        )
    return bundle


# -- the schema ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodRegistry:
    """Which method carries which params type, per JSON-RPC envelope (definition names)."""

    server_notifications: dict[str, str | None]
    server_requests: dict[str, str | None]
    client_requests: dict[str, str | None]
    client_notifications: dict[str, str | None]


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_V2_PREFIX):
                out[key] = "#/definitions/" + value[len(_V2_PREFIX) :]
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _single_literal_without_title(node: Any) -> Any:
    """Drop titles of one-value enums so they become inline ``Literal[...]`` rather than named aliases."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) == 1 and "title" in node and "properties" not in node:
            node = {key: value for key, value in node.items() if key != "title"}
        return {key: _single_literal_without_title(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_single_literal_without_title(item) for item in node]
    return node


def _params_ref(variant: Mapping[str, Any], envelope: str) -> str | None:
    params = variant.get("properties", {}).get("params")
    if params is None:
        return None
    candidates = [params, *params.get("anyOf", []), *params.get("oneOf", [])]
    refs = [c["$ref"] for c in candidates if isinstance(c, dict) and "$ref" in c]
    if len(refs) > 1:
        raise ReleaseError(f"{envelope}: params of one method name several types ({refs}): unsupported schema")
    return refs[0].rsplit("/", 1)[-1] if refs else None


def _methods(definitions: Mapping[str, Any], envelope: str) -> dict[str, str | None]:
    definition = definitions.get(envelope)
    if definition is None:
        raise ReleaseError(f"the protocol schema has no {envelope} definition: unsupported runtime schema")
    methods: dict[str, str | None] = {}
    for variant in definition.get("oneOf", []):
        enum = variant.get("properties", {}).get("method", {}).get("enum", [])
        if len(enum) != 1 or not isinstance(enum[0], str):
            raise ReleaseError(f"{envelope}: a variant without one method name ({enum!r}): unsupported schema")
        if enum[0] in methods:
            raise ReleaseError(f"{envelope}: method {enum[0]!r} is declared twice: unsupported schema")
        methods[enum[0]] = _params_ref(variant, envelope)
    return methods


def flatten_bundle(bundle: Mapping[str, Any]) -> tuple[dict[str, Any], MethodRegistry]:
    """One flat JSON Schema of every protocol type (envelopes removed), and the method registries."""
    definitions = dict(bundle.get("definitions") or {})
    nested = definitions.pop("v2", {})
    if not definitions or not isinstance(nested, dict):
        raise ReleaseError("the protocol bundle has no definitions (or a malformed v2 namespace): unsupported schema")

    def comparable(schema: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in schema.items() if key not in ("$schema", "title")}

    flat: dict[str, Any] = {}
    for name, raw in [*definitions.items(), *nested.items()]:
        schema = {key: value for key, value in raw.items() if key != "$schema"}
        if name in flat:
            if comparable(flat[name]) != comparable(schema):
                raise ReleaseError(
                    f"the protocol defines {name!r} differently at top level and in v2: generate-types cannot "
                    "merge them; extend codex_release.steps.generate_types to namespace them"
                )
            continue
        flat[name] = schema
    flat = _rewrite_refs(flat)
    registry = MethodRegistry(
        server_notifications=_methods(flat, "ServerNotification"),
        server_requests=_methods(flat, "ServerRequest"),
        client_requests=_methods(flat, "ClientRequest"),
        client_notifications=_methods(flat, "ClientNotification"),
    )
    models = {name: schema for name, schema in sorted(flat.items()) if name not in _DROPPED}
    schema = {
        "$schema": bundle.get("$schema", "http://json-schema.org/draft-07/schema#"),
        "title": "CodexAppServerProtocol",
        "definitions": _single_literal_without_title(models),
    }
    _check_refs(schema)
    return schema, registry


def _check_refs(schema: Mapping[str, Any]) -> None:
    names = set(schema["definitions"])
    dangling: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] not in names:
                dangling.add(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    if dangling:
        raise ReleaseError(f"the protocol schema has unresolved references {sorted(dangling)}: unsupported schema")


# -- rendering -------------------------------------------------------------------------------------------


def _generator_version() -> str:
    try:
        return metadata.version("datamodel-code-generator")
    except metadata.PackageNotFoundError:
        raise ReleaseError(
            "datamodel-code-generator is not installed: run `make setup` (it is a dev dependency of the toolkit)"
        ) from None


def _header(version: CodexVersion, generator: str) -> str:
    return (
        f"# Generated by `codex-release generate-types` from the app-server JSON Schema of Codex {version}\n"
        f"# (`codex app-server generate-json-schema`) with datamodel-code-generator {generator}.\n"
        "# Do not edit: regenerate instead.\n"
    )


def _run_datamodel_codegen(schema: Mapping[str, Any], output: Path, header: str) -> None:
    with tempfile.TemporaryDirectory(prefix="codex-schema-") as work:
        schema_path = Path(work) / "protocol.schema.json"
        schema_path.write_text(json.dumps(schema, indent=1, sort_keys=True), encoding="utf-8")
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"}
        _run(
            [
                sys.executable,
                "-m",
                "datamodel_code_generator",
                f"--input={schema_path}",
                f"--output={output}",
                f"--custom-file-header={header.rstrip()}",
                *_DATAMODEL_OPTIONS,
            ],
            env,
            "datamodel-code-generator",
            cwd=Path(work),
        )
    if not output.is_file():
        raise ReleaseError("datamodel-code-generator wrote no output: check its version (it is a dev dependency)")


def _module_names(module: Path) -> set[str]:
    """Top-level names (classes and assignments) a generated module defines."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _classes(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def _registry_entries(methods: Mapping[str, str | None], names: set[str], what: str) -> list[tuple[str, str]]:
    entries = []
    for method, definition in sorted(methods.items()):
        if definition is None:
            continue
        if definition not in names:
            raise ReleaseError(
                f"{what} {method!r} carries {definition}, which the generated models do not define: "
                "datamodel-code-generator named it differently; adjust codex_release.steps.generate_types"
            )
        entries.append((method, definition))
    return entries


def _results(params: list[tuple[str, str]], names: set[str]) -> list[tuple[str, str]]:
    """Result types by the protocol's naming convention (``XParams`` -> ``XResponse``)."""
    results = []
    for method, definition in params:
        if definition.endswith("Params") and (response := definition[: -len("Params")] + "Response") in names:
            results.append((method, response))
    return results


def _dict_literal(name: str, entries: list[tuple[str, str]], classes: set[str], doc: str) -> str:
    """A registry literal: typed ``type[CodexModel]`` when every entry is a model class."""
    if all(cls in classes for _, cls in entries):
        annotation = "dict[str, type[CodexModel]]"
    else:
        annotation = "dict[str, Any]"
        doc += " A value is a model class or, for a union, a type alias: validate it with ``pydantic.TypeAdapter``."
    lines = [f"{name}: {annotation} = {{"]
    lines += [f"    {json.dumps(method)}: _m.{cls}," for method, cls in entries]
    lines.append("}")
    lines.append(f'"""{doc}"""')
    return "\n".join(lines)


def _methods_literal(name: str, methods: Mapping[str, str | None], doc: str) -> str:
    lines = [f"{name}: frozenset[str] = frozenset("]
    lines.append("    {")
    lines += [f"        {json.dumps(method)}," for method in sorted(methods)]
    lines.append("    }")
    lines.append(")")
    lines.append(f'"""{doc}"""')
    return "\n".join(lines)


def rpc_method_name(method: str) -> str:
    """The Python name of a wire method: its words in snake_case joined by ``_``.

    ``thread/goal/get`` -> ``thread_goal_get``, ``account/rateLimits/read`` -> ``account_rate_limits_read``.
    """
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", method.replace("/", "_")).lower()
    name = re.sub(r"[^a-z0-9_]", "_", words)
    return f"{name}_" if keyword.iskeyword(name) else name


@dataclass(frozen=True)
class _RpcField:
    name: str
    wire: str
    annotation: str
    required: bool


def _qualify(annotation: ast.expr, names: set[str]) -> str:
    """The annotation's source with every protocol name prefixed by ``_m.``."""

    class Qualify(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in names:
                return ast.copy_location(ast.Attribute(ast.Name("_m", ast.Load()), node.id, ast.Load()), node)
            return node

    return ast.unparse(Qualify().visit(annotation))


def _model_fields(models: Path, names: set[str]) -> dict[str, list[_RpcField]]:
    """The fields of every generated model class, in order: Python name, wire name, annotation, required."""
    tree = ast.parse(models.read_text(encoding="utf-8"))
    fields: dict[str, list[_RpcField]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        entries = []
        for item in node.body:
            if not isinstance(item, ast.AnnAssign) or not isinstance(item.target, ast.Name):
                continue
            name = item.target.id
            if name == "model_config":
                continue
            wire, required = name, item.value is None
            value = item.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "Field":
                first = value.args[0] if value.args else None
                required = isinstance(first, ast.Constant) and first.value is Ellipsis
                for keyword_arg in value.keywords:
                    if keyword_arg.arg == "alias" and isinstance(keyword_arg.value, ast.Constant):
                        wire = str(keyword_arg.value.value)
            entries.append(_RpcField(name, wire, _qualify(item.annotation, names), required))
        fields[node.name] = entries
    return fields


def _rpc_method(
    method: str,
    params: str | None,
    result: str | None,
    fields: Mapping[str, list[_RpcField]],
    is_async: bool,
) -> list[str]:
    name = rpc_method_name(method)
    returns = f"_m.{result}" if result else "Any"
    prefix = "async def" if is_async else "def"
    call = "await self._call" if is_async else "self._call"
    result_arg = json.dumps(result) if result else "None"
    doc = (
        f"``{method}``"
        + (f" (params ``{params}``" if params else " (no params")
        + (f", result ``{result}``)." if result else ", raw JSON result).")
    )
    if params is None:
        return [
            f"    {prefix} {name}(self) -> {returns}:",
            f'        """{doc}"""',
            f"        return {call}({json.dumps(method)}, None, {result_arg})",
        ]
    if params not in fields:  # a union of params shapes: pass one of them (a model or its JSON)
        return [
            f"    {prefix} {name}(self, params: _m.{params} | Mapping[str, Any]) -> {returns}:",
            f'        """{doc}"""',
            f"        return {call}({json.dumps(method)}, to_wire_value(params), {result_arg})",
        ]
    ordered = sorted(fields[params], key=lambda field: not field.required)
    arguments = ", ".join(
        f"{field.name}: {field.annotation}" if field.required else f"{field.name}: {field.annotation} = None"
        for field in ordered
    )
    signature = (
        f"    {prefix} {name}(self, *, {arguments}) -> {returns}:"
        if ordered
        else (f"    {prefix} {name}(self) -> {returns}:")
    )
    wire = ", ".join(f"{json.dumps(field.wire)}: {field.name}" for field in fields[params])
    return [
        signature,
        f'        """{doc}"""',
        f"        return {call}({json.dumps(method)}, wire_params({{{wire}}}), {result_arg})",
    ]


def render_rpc(
    header: str,
    registry: MethodRegistry,
    client_params: list[tuple[str, str]],
    client_results: list[tuple[str, str]],
    fields: Mapping[str, list[_RpcField]],
) -> str:
    """``rpc.py``: ``Rpc`` and ``AsyncRpc``, one typed method per client request."""
    params = dict(client_params)
    results = dict(client_results)
    seen: dict[str, str] = {}
    for method in registry.client_requests:
        name = rpc_method_name(method)
        if name in seen:
            raise ReleaseError(f"client requests {seen[name]!r} and {method!r} both become rpc.{name}: rename one")
        seen[name] = method
    methods = sorted(registry.client_requests)
    body = {False: [], True: []}  # type: dict[bool, list[str]]
    for is_async in (False, True):
        for method in methods:
            body[is_async] += _rpc_method(method, params.get(method), results.get(method), fields, is_async)
            body[is_async].append("")
    return _RPC_CLASSES_TEMPLATE.format(
        header=header,
        models=MODELS_MODULE,
        sync_methods="\n".join(body[False]).rstrip(),
        async_methods="\n".join(body[True]).rstrip(),
    )


_RPC_CLASSES_TEMPLATE = """{header}\"\"\"``codex.rpc``: one typed method per client request of the protocol.

Named by the wire method in snake_case words (``thread/goal/get`` -> ``thread_goal_get``); keyword arguments
are the params' fields in snake_case (``None`` leaves a field out); the result is validated into the
method's ``*Response`` model (raw JSON where the protocol names none). ``Rpc`` blocks; ``AsyncRpc``'s
methods are coroutines. Some methods need ``CodexConfig(experimental_api=True)``.
\"\"\"

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openai_codex._params import to_wire_value
from openai_codex._rpc import AsyncRpcBase, RpcBase, wire_params

if TYPE_CHECKING:
    from openai_codex.generated import {models} as _m

__all__ = ["AsyncRpc", "Rpc"]


class Rpc(RpcBase):
    \"\"\"Every client request of the protocol, as a blocking method (``Codex.rpc``).\"\"\"

    __slots__ = ()

{sync_methods}


class AsyncRpc(AsyncRpcBase):
    \"\"\"Every client request of the protocol, as a coroutine (``AsyncCodex.rpc``).\"\"\"

    __slots__ = ()

{async_methods}
"""


_INIT_TEMPLATE = '''{header}"""Models of the Codex app-server protocol, generated from the runtime's own JSON Schema.

Modules (import them when needed; ``{models}`` holds ~{count} pydantic models and is the slow one):

- ``{models}``: every protocol type (``Turn``, ``TurnStatus``, ``ThreadItem``, ``ThreadStartParams``...).
  Fields are snake_case with the wire's camelCase as alias: validate wire payloads with
  ``Model.model_validate(data)`` and serialise with ``model_dump(by_alias=True, exclude_none=True)``.
- ``notifications``: ``NOTIFICATION_MODELS``, server notification method -> payload model.
- ``rpc_methods``: params and result models of client requests and server requests, per method.
"""

CODEX_VERSION = "{version}"
"""The Codex release whose schema these models were generated from."""

__all__ = ["CODEX_VERSION"]
'''

_BASE_TEMPLATE = '''{header}"""The base class of every generated model."""

from pydantic import BaseModel, ConfigDict


class CodexModel(BaseModel):
    """A protocol type: snake_case attributes, camelCase on the wire (``model_dump(by_alias=True)``).

    Unknown fields are kept (``extra="allow"``) so data from a newer runtime survives a round trip, and
    validators are built on first use (``defer_build``), which keeps importing ~800 models quick.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        protected_namespaces=(),
        extra="allow",
        defer_build=True,
    )
'''

_NOTIFICATIONS_TEMPLATE = '''{header}"""Server notifications: JSON-RPC method -> payload (``params``) model."""

from openai_codex.generated import {models} as _m
from openai_codex.generated._base import CodexModel

__all__ = ["NOTIFICATION_METHODS", "NOTIFICATION_MODELS"]

{registry}

{methods}
'''

_RPC_TEMPLATE = '''{header}"""JSON-RPC requests of the protocol: params and result models per method.

``CLIENT_REQUEST_*`` are the methods a client calls (``thread/start``...); ``SERVER_REQUEST_*`` are the
requests the server sends to the client (approvals...), which the client must answer. Results are paired
by the protocol's naming convention (``XParams`` -> ``XResponse``); a method is absent when it has no
params or no such result type.
"""

from typing import Any

from openai_codex.generated import {models} as _m
from openai_codex.generated._base import CodexModel

__all__ = [
    "CLIENT_NOTIFICATION_METHODS",
    "CLIENT_REQUEST_METHODS",
    "CLIENT_REQUEST_PARAMS",
    "CLIENT_REQUEST_RESULTS",
    "SERVER_REQUEST_METHODS",
    "SERVER_REQUEST_PARAMS",
    "SERVER_REQUEST_RESULTS",
]

{client_methods}

{client_params}

{client_results}

{server_methods}

{server_params}

{server_results}

{client_notifications}
'''


def render_package(schema: Mapping[str, Any], registry: MethodRegistry, version: CodexVersion, dest: Path) -> None:
    """Write the whole generated package into the (empty) directory ``dest``."""
    header = _header(version, _generator_version())
    models_path = dest / f"{MODELS_MODULE}.py"
    _run_datamodel_codegen(schema, models_path, header)
    classes = _classes(models_path)
    names = _module_names(models_path)
    if BASE_CLASS in names:
        raise ReleaseError(f"the protocol defines a type named {BASE_CLASS}: rename the generated base class")

    notifications = _registry_entries(registry.server_notifications, names, "server notification")
    client_params = _registry_entries(registry.client_requests, names, "client request")
    server_params = _registry_entries(registry.server_requests, names, "server request")

    files = {
        "__init__.py": _INIT_TEMPLATE.format(header=header, models=MODELS_MODULE, count=len(classes), version=version),
        "_base.py": _BASE_TEMPLATE.format(header=header),
        "notifications.py": _NOTIFICATIONS_TEMPLATE.format(
            header=header,
            models=MODELS_MODULE,
            registry=_dict_literal(
                "NOTIFICATION_MODELS", notifications, classes, "Server notification method -> model of its ``params``."
            ),
            methods=_methods_literal(
                "NOTIFICATION_METHODS", registry.server_notifications, "Every server notification method."
            ),
        ),
        "rpc_methods.py": _RPC_TEMPLATE.format(
            header=header,
            models=MODELS_MODULE,
            client_methods=_methods_literal(
                "CLIENT_REQUEST_METHODS", registry.client_requests, "Every method a client can call."
            ),
            client_params=_dict_literal(
                "CLIENT_REQUEST_PARAMS", client_params, classes, "Client request -> params model."
            ),
            client_results=_dict_literal(
                "CLIENT_REQUEST_RESULTS", _results(client_params, names), classes, "Client request -> result model."
            ),
            server_methods=_methods_literal(
                "SERVER_REQUEST_METHODS", registry.server_requests, "Every request the server sends to a client."
            ),
            server_params=_dict_literal(
                "SERVER_REQUEST_PARAMS", server_params, classes, "Server request -> params model."
            ),
            server_results=_dict_literal(
                "SERVER_REQUEST_RESULTS",
                _results(server_params, names),
                classes,
                "Server request -> model of the result the client answers with.",
            ),
            client_notifications=_methods_literal(
                "CLIENT_NOTIFICATION_METHODS", registry.client_notifications, "Notifications a client sends."
            ),
        ),
    }
    files["rpc.py"] = render_rpc(
        header, registry, client_params, _results(client_params, names), _model_fields(models_path, names)
    )
    for name, text in files.items():
        (dest / name).write_text(text, encoding="utf-8", newline="\n")


# -- the command -----------------------------------------------------------------------------------------


def export_bundle(codex_bin: Path) -> dict[str, Any]:
    """The protocol bundle ``codex_bin`` exports (``generate-json-schema``), parsed."""
    with tempfile.TemporaryDirectory(prefix="codex-schema-export-") as export:
        bundle_path = run_schema_export(codex_bin, Path(export))
        try:
            bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReleaseError(f"{BUNDLE_NAME} from codex is not valid JSON: {exc}") from None
    if not isinstance(bundle, dict):
        raise ReleaseError(f"{BUNDLE_NAME} from {codex_bin} is not a JSON object: is it codex?")
    return bundle


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


_HEADER_START = "# Generated by `codex-release generate-types`"


def earlier_generation(out_dir: Path) -> str | None:
    """``None`` when ``out_dir`` is a package this command generated (its ``__init__.py`` carries our header)."""
    try:
        with open(out_dir / "__init__.py", encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        first = ""
    if first.startswith(_HEADER_START):
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
    a :class:`ReleaseError` names the files that differ. ``bundle`` is ``codex_bin``'s schema export when
    the caller already has it (``bump`` compared it first).
    """
    out = out_dir.absolute()
    if codex_bin is not None:
        binary = _checked_binary(codex_bin)
        if codex_version is not None and codex_binary_version(binary) != codex_version:
            raise ReleaseError(
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
            raise ReleaseError(
                f"generated types in {out} are out of date with Codex {version} ({', '.join(drift)}): {REGENERATE_HINT}"
            )
        return GeneratedTypes(version, out, changed=False)

    if out.exists() and not out.is_dir():
        raise ReleaseError(f"--out {out} is a file, not a directory: pass a directory")
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
