"""A tiny MCP server on stdio for the MCP tool hooks tests (stdlib only).

The MCP stdio transport: one JSON-RPC 2.0 message per line on stdin and stdout (stderr is free for logs).
It answers ``initialize``, ``ping``, ``tools/list`` and ``tools/call``, takes notifications silently and
answers any other request with a ``-32601`` error. Its tools:

* ``write_marker`` (annotated ``destructiveHint: true``): writes ``text`` to the file ``path``;
* ``read_marker`` (annotated ``readOnlyHint: true``): returns the text of the file ``path``.

Run it as ``python fake_mcp_server.py``; the tests point the runtime at it with
``mcp_servers.<name>.command`` / ``mcp_servers.<name>.args`` config overrides.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SERVER_INFO = {"name": "fake-mcp", "version": "1.0.0"}
DEFAULT_PROTOCOL = "2025-06-18"

_PATH_ARGUMENT = {"type": "string", "description": "The file's path."}
TOOLS: list[dict[str, Any]] = [
    {
        "name": "write_marker",
        "description": "Write text to a file.",
        "inputSchema": {
            "type": "object",
            "properties": {"path": _PATH_ARGUMENT, "text": {"type": "string"}},
            "required": ["path"],
        },
        "annotations": {"title": "Write a marker file", "destructiveHint": True, "readOnlyHint": False},
    },
    {
        "name": "read_marker",
        "description": "Read a file's text.",
        "inputSchema": {"type": "object", "properties": {"path": _PATH_ARGUMENT}, "required": ["path"]},
        "annotations": {"title": "Read a marker file", "readOnlyHint": True},
    },
]


class ToolError(Exception):
    """A tool failed: reported to the caller as a result with ``isError: true``."""


def call_tool(name: str, arguments: dict[str, Any]) -> str:
    """Run the tool ``name``; its text output."""
    path = Path(str(arguments.get("path", "")))
    if name == "write_marker":
        path.write_text(str(arguments.get("text", "marker")), encoding="utf-8")
        return f"wrote {path}"
    if name == "read_marker":
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ToolError(f"cannot read {path}: {exc}") from exc
    raise ToolError(f"unknown tool {name!r}")


def result_for(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The result of the request ``method``; :class:`LookupError` for a method this server lacks."""
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion") or DEFAULT_PROTOCOL,
            "capabilities": {"tools": {}},
            "serverInfo": SERVER_INFO,
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        try:
            text, failed = call_tool(str(params.get("name")), dict(params.get("arguments") or {})), False
        except (ToolError, OSError) as exc:
            text, failed = str(exc), True
        return {"content": [{"type": "text", "text": text}], "isError": failed}
    raise LookupError(method)


def answer(message: dict[str, Any]) -> dict[str, Any] | None:
    """The response to one incoming message (``None`` for notifications and responses)."""
    method, request_id = message.get("method"), message.get("id")
    if not isinstance(method, str) or request_id is None:
        return None
    try:
        result = result_for(method, dict(message.get("params") or {}))
    except LookupError:
        error = {"code": -32601, "message": f"method not found: {method}"}
        return {"jsonrpc": "2.0", "id": request_id, "error": error}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            reply: dict[str, Any] | None = {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32700, "message": "parse error"},
            }
        else:
            reply = answer(message) if isinstance(message, dict) else None
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
