"""The schema side of ``generate-types``: one flat JSON Schema of every protocol type, and the registries.

The runtime's bundle has top-level definitions plus a ``v2`` namespace. :func:`flatten_bundle` merges both
(identical duplicates are dropped, conflicting ones are an error), rewrites ``#/definitions/v2/X``
references, and sets the JSON-RPC envelopes (``ServerNotification``, ``ClientRequest``, ...) aside: they
only say which method carries which params type, which becomes :class:`MethodRegistry`, not models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codex_release.errors import Unsupported

__all__ = ["MethodRegistry", "flatten_bundle"]

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
        raise Unsupported(f"{envelope}: params of one method name several types ({refs}): unsupported schema")
    return refs[0].rsplit("/", 1)[-1] if refs else None


def _methods(definitions: Mapping[str, Any], envelope: str) -> dict[str, str | None]:
    definition = definitions.get(envelope)
    if definition is None:
        raise Unsupported(f"the protocol schema has no {envelope} definition: unsupported runtime schema")
    methods: dict[str, str | None] = {}
    for variant in definition.get("oneOf", []):
        enum = variant.get("properties", {}).get("method", {}).get("enum", [])
        if len(enum) != 1 or not isinstance(enum[0], str):
            raise Unsupported(f"{envelope}: a variant without one method name ({enum!r}): unsupported schema")
        if enum[0] in methods:
            raise Unsupported(f"{envelope}: method {enum[0]!r} is declared twice: unsupported schema")
        methods[enum[0]] = _params_ref(variant, envelope)
    return methods


def flatten_bundle(bundle: Mapping[str, Any]) -> tuple[dict[str, Any], MethodRegistry]:
    """One flat JSON Schema of every protocol type (envelopes removed), and the method registries."""
    definitions = dict(bundle.get("definitions") or {})
    nested = definitions.pop("v2", {})
    if not definitions or not isinstance(nested, dict):
        raise Unsupported("the protocol bundle has no definitions (or a malformed v2 namespace): unsupported schema")

    def comparable(schema: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in schema.items() if key not in ("$schema", "title")}

    flat: dict[str, Any] = {}
    for name, raw in [*definitions.items(), *nested.items()]:
        schema = {key: value for key, value in raw.items() if key != "$schema"}
        if name in flat:
            if comparable(flat[name]) != comparable(schema):
                raise Unsupported(
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
        raise Unsupported(f"the protocol schema has unresolved references {sorted(dangling)}: unsupported schema")
