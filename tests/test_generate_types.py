"""generate-types: schema flattening, rendering, determinism, drift check and bad inputs."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_release.cli import main
from codex_release.errors import ReleaseError
from codex_release.generate_types import (
    check_generated,
    codex_binary_version,
    default_output_dir,
    flatten_bundle,
    generate_into,
    generate_types,
    render_package,
    rpc_method_name,
)
from codex_release.versions import parse_codex_version

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "sdk" / "src" / "openai_codex" / "generated"


def _variant(method: str, params: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"method": {"enum": [method], "type": "string", "title": f"{method}Method"}}
    if params is not None:
        properties["params"] = {"$ref": f"#/definitions/v2/{params}"}
    return {"type": "object", "properties": properties, "required": ["method"], "title": f"{method}Variant"}


def _bundle() -> dict[str, Any]:
    """A small protocol bundle in the runtime's layout: top-level definitions plus a v2 namespace."""
    v2: dict[str, Any] = {
        "RequestId": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "TurnStatus": {"type": "string", "enum": ["completed", "inProgress"]},
        "AgentItem": {
            "type": "object",
            "title": "AgentItem",
            "properties": {
                "type": {"type": "string", "enum": ["agentMessage"], "title": "AgentItemType"},
                "text": {"type": "string"},
                "startedAtMs": {"type": ["integer", "null"], "description": "When it started."},
            },
            "required": ["type", "text"],
        },
        "Turn": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"$ref": "#/definitions/v2/TurnStatus"},
                "items": {"type": "array", "items": {"$ref": "#/definitions/v2/AgentItem"}},
            },
            "required": ["id", "status", "items"],
        },
        "TurnCompletedNotification": {
            "type": "object",
            "properties": {"threadId": {"type": "string"}, "turn": {"$ref": "#/definitions/v2/Turn"}},
            "required": ["threadId", "turn"],
        },
        "ThreadStartParams": {
            "type": "object",
            "properties": {"approvalPolicy": {"type": ["string", "null"]}, "modelProvider": {"type": "string"}},
        },
        "ThreadStartResponse": {"type": "object", "properties": {"threadId": {"type": "string"}}},
    }
    top = {
        "RequestId": {"$schema": "x", "title": "RequestId", **v2["RequestId"]},
        "ServerNotification": {"oneOf": [_variant("turn/completed", "TurnCompletedNotification")]},
        "ServerRequest": {"oneOf": []},
        "ClientRequest": {"oneOf": [_variant("thread/start", "ThreadStartParams"), _variant("thread/ping", None)]},
        "ClientNotification": {"oneOf": [_variant("initialized", None)]},
        "JSONRPCMessage": {"type": "object"},
    }
    return {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {**top, "v2": v2}}


# -- flattening -----------------------------------------------------------------------------------------


def test_flatten_merges_v2_rewrites_refs_and_sets_envelopes_aside() -> None:
    schema, registry = flatten_bundle(_bundle())
    definitions = schema["definitions"]
    assert "v2" not in definitions
    assert {"ServerNotification", "ClientRequest", "JSONRPCMessage"}.isdisjoint(definitions)
    assert definitions["Turn"]["properties"]["status"] == {"$ref": "#/definitions/TurnStatus"}
    assert "#/definitions/v2/" not in json.dumps(schema)
    assert list(definitions) == sorted(definitions)
    # one-value enums lose their title so they become inline Literal[...] types
    assert "title" not in definitions["AgentItem"]["properties"]["type"]
    assert definitions["AgentItem"]["title"] == "AgentItem"
    assert registry.server_notifications == {"turn/completed": "TurnCompletedNotification"}
    assert registry.client_requests == {"thread/start": "ThreadStartParams", "thread/ping": None}
    assert registry.client_notifications == {"initialized": None}
    assert registry.server_requests == {}


def test_flatten_refuses_conflicting_duplicate_definitions() -> None:
    bundle = _bundle()
    bundle["definitions"]["v2"]["RequestId"] = {"type": "string"}
    with pytest.raises(ReleaseError, match="defines 'RequestId' differently"):
        flatten_bundle(bundle)


def test_flatten_refuses_a_missing_envelope() -> None:
    bundle = _bundle()
    del bundle["definitions"]["ServerNotification"]
    with pytest.raises(ReleaseError, match="no ServerNotification definition"):
        flatten_bundle(bundle)


def test_flatten_refuses_dangling_references() -> None:
    bundle = _bundle()
    bundle["definitions"]["v2"]["Turn"]["properties"]["extra"] = {"$ref": "#/definitions/v2/Nowhere"}
    with pytest.raises(ReleaseError, match=r"unresolved references.*Nowhere"):
        flatten_bundle(bundle)


def test_flatten_refuses_a_method_declared_twice() -> None:
    bundle = _bundle()
    bundle["definitions"]["ServerNotification"]["oneOf"].append(_variant("turn/completed", "Turn"))
    with pytest.raises(ReleaseError, match="'turn/completed' is declared twice"):
        flatten_bundle(bundle)


def test_flatten_does_not_mutate_its_input() -> None:
    bundle = _bundle()
    before = copy.deepcopy(bundle)
    flatten_bundle(bundle)
    assert bundle == before


# -- rendering (datamodel-code-generator on the small bundle) -------------------------------------------


def _render(dest: Path) -> Path:
    package = dest / "openai_codex" / "generated"
    package.mkdir(parents=True)
    (dest / "openai_codex" / "__init__.py").write_text("")
    schema, registry = flatten_bundle(_bundle())
    render_package(schema, registry, parse_codex_version("0.169.0"), package)
    return package


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("render"))


def test_render_writes_models_registries_and_a_versioned_header(rendered: Path) -> None:
    assert sorted(p.name for p in rendered.iterdir()) == [
        "__init__.py",
        "_base.py",
        "notifications.py",
        "protocol.py",
        "rpc.py",
        "rpc_methods.py",
    ]
    for path in rendered.iterdir():
        text = path.read_text()
        assert text.startswith(
            "# Generated by `codex-release generate-types` from the app-server JSON Schema of Codex 0.169.0"
        )
        assert "datamodel-code-generator" in text.splitlines()[1]
        assert "timestamp" not in text.lower()
    protocol = (rendered / "protocol.py").read_text()
    assert "from __future__" not in protocol
    assert "class Turn(CodexModel):" in protocol
    assert 'approval_policy: str | None = Field(None, alias="approvalPolicy")' in protocol
    notifications = (rendered / "notifications.py").read_text()
    assert '"turn/completed": _m.TurnCompletedNotification,' in notifications
    rpc = (rendered / "rpc_methods.py").read_text()
    assert '"thread/start": _m.ThreadStartParams,' in rpc
    assert '"thread/start": _m.ThreadStartResponse,' in rpc
    assert '"thread/ping",' in rpc  # listed as a method even without params
    typed = (rendered / "rpc.py").read_text()
    assert "class Rpc(RpcBase):" in typed
    assert "class AsyncRpc(AsyncRpcBase):" in typed
    assert "    def thread_start(self, *, " in typed
    assert "    async def thread_start(self, *, " in typed
    assert '"approvalPolicy": approval_policy' in typed
    assert "    def thread_ping(self) -> Any:" in typed
    assert 'CODEX_VERSION = "0.169.0"' in (rendered / "__init__.py").read_text()


def test_rendered_package_imports_and_validates_wire_payloads(rendered: Path) -> None:
    script = textwrap.dedent(
        """
        import json, sys
        import openai_codex.generated as g
        assert g.__file__.startswith(sys.argv[1]), g.__file__
        from openai_codex.generated.notifications import NOTIFICATION_MODELS, NOTIFICATION_METHODS
        from openai_codex.generated.rpc_methods import CLIENT_REQUEST_PARAMS
        payload = {"threadId": "t", "turn": {"id": "u", "status": "completed", "future": 1,
                   "items": [{"type": "agentMessage", "text": "hi", "startedAtMs": 5}]}}
        note = NOTIFICATION_MODELS["turn/completed"].model_validate(payload)
        params = CLIENT_REQUEST_PARAMS["thread/start"](approval_policy="never", model_provider="mock")
        print(json.dumps({
            "version": g.CODEX_VERSION,
            "methods": sorted(NOTIFICATION_METHODS),
            "status": note.turn.status.value,
            "is_str": note.turn.status == "completed",
            "started": note.turn.items[0].started_at_ms,
            "extra": note.turn.model_extra,
            "params": params.model_dump(by_alias=True, exclude_none=True),
        }))
        """
    )
    root = str(rendered.parent.parent)
    result = subprocess.run(
        [sys.executable, "-c", script, root],
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == {
        "version": "0.169.0",
        "methods": ["turn/completed"],
        "status": "completed",
        "is_str": True,
        "started": 5,
        "extra": {"future": 1},
        "params": {"approvalPolicy": "never", "modelProvider": "mock"},
    }


def test_render_is_deterministic_to_the_byte(rendered: Path, tmp_path: Path) -> None:
    again = _render(tmp_path)
    assert _digest(again) == _digest(rendered)


def test_check_generated_names_missing_extra_and_changed_files(rendered: Path, tmp_path: Path) -> None:
    committed = tmp_path / "committed"
    committed.mkdir()
    for path in rendered.iterdir():
        (committed / path.name).write_bytes(path.read_bytes())
    assert check_generated(rendered, committed) == []
    (committed / "__pycache__").mkdir()
    (committed / "__pycache__" / "protocol.cpython-311.pyc").write_bytes(b"ignored")
    assert check_generated(rendered, committed) == []
    (committed / "protocol.py").write_text("# edited by hand\n")
    (committed / "notifications.py").unlink()
    (committed / "stale.py").write_text("")
    assert check_generated(rendered, committed) == [
        "notifications.py (missing)",
        "protocol.py",
        "stale.py (not generated)",
    ]
    assert check_generated(rendered, tmp_path / "absent") == ["(the whole directory is missing)"]


# -- bad inputs -----------------------------------------------------------------------------------------


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_missing_codex_bin_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate-types", "--codex-bin", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert f"--codex-bin {tmp_path / 'nope'} does not exist" in result.output


def test_non_executable_codex_bin_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "codex"
    binary.write_text("not a program")
    with pytest.raises(ReleaseError, match="is not executable"):
        generate_types(codex_bin=binary, out_dir=tmp_path / "out")


def test_a_binary_that_is_not_codex_is_refused(tmp_path: Path) -> None:
    binary = _script(tmp_path / "codex", "echo 'something else 1.0'\n")
    with pytest.raises(ReleaseError, match=r"printed 'something else 1.0', not `codex-cli X`"):
        codex_binary_version(binary)


def test_a_failing_schema_export_names_the_error_and_leaves_the_output_alone(tmp_path: Path) -> None:
    binary = _script(
        tmp_path / "codex",
        'if [ "$1" = --version ]; then echo "codex-cli 0.169.0"; exit 0; fi\n'
        'echo "boom: no schema for you" >&2\nexit 3\n',
    )
    out = tmp_path / "pkg" / "generated"
    out.mkdir(parents=True)
    (out / "protocol.py").write_text("# previous\n")
    with pytest.raises(ReleaseError, match="generate-json-schema failed with exit status 3: boom: no schema for you"):
        generate_types(codex_bin=binary, out_dir=out)
    assert [p.name for p in out.parent.iterdir()] == ["generated"]  # no staging directory left behind
    assert [p.name for p in out.iterdir()] == ["protocol.py"]
    assert (out / "protocol.py").read_text() == "# previous\n"


def test_a_schema_export_without_the_bundle_is_refused(tmp_path: Path) -> None:
    binary = _script(
        tmp_path / "codex",
        'if [ "$1" = --version ]; then echo "codex-cli 0.169.0"; exit 0; fi\nmkdir -p "$4"\n',
    )
    with pytest.raises(ReleaseError, match=r"wrote no codex_app_server_protocol\.schemas\.json"):
        generate_into(binary, tmp_path / "dest")


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    binary = _script(tmp_path / "codex", 'echo "codex-cli 0.169.0"\n')
    (tmp_path / "file").write_text("")
    with pytest.raises(ReleaseError, match="is a file, not a directory"):
        generate_types(codex_bin=binary, out_dir=tmp_path / "file")


def test_a_bad_codex_version_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate-types", "--codex-version", "banana", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a Codex version: 'banana'" in result.output


# -- the real pinned runtime ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(real_codex_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("fresh") / "generated"
    dest.mkdir()
    generate_into(real_codex_bin, dest)
    return dest


@pytest.mark.runtime
def test_committed_types_match_the_pinned_runtime(fresh: Path) -> None:
    """The drift test: regenerating from the pinned runtime must reproduce the committed files exactly."""
    drift = check_generated(fresh, COMMITTED)
    assert drift == [], f"generated types drifted ({drift}): run `codex-release generate-types` and commit"
    assert default_output_dir() == COMMITTED


@pytest.mark.runtime
def test_generation_is_deterministic_and_swaps_the_directory_in(
    real_codex_bin: Path, fresh: Path, tmp_path: Path
) -> None:
    out = tmp_path / "generated"
    out.mkdir()
    (out / "stale.py").write_text("# from an older runtime\n")
    result = CliRunner().invoke(main, ["generate-types", "--codex-bin", str(real_codex_bin), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"Generated types from Codex 0.169.0 into {out}\n"
    assert _digest(out) == _digest(fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]
    assert out.stat().st_mode & 0o755 == 0o755


@pytest.mark.runtime
def test_check_fails_on_drift_with_one_line_naming_the_files_and_the_fix(
    real_codex_bin: Path, fresh: Path, tmp_path: Path
) -> None:
    out = tmp_path / "generated"
    out.mkdir()
    for path in fresh.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    (out / "notifications.py").write_text((out / "notifications.py").read_text() + "# hand edit\n")
    before = _digest(out)

    result = CliRunner().invoke(
        main, ["generate-types", "--codex-bin", str(real_codex_bin), "--out", str(out), "--check"]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "out of date with Codex 0.169.0 (notifications.py)" in lines[0]
    assert "codex-release generate-types" in lines[0]
    assert _digest(out) == before  # --check writes nothing


def test_committed_models_all_build_and_parse_a_turn() -> None:
    """Every generated model and alias compiles a validator; registries cover the schema's methods."""
    script = textwrap.dedent(
        """
        import inspect
        from pydantic import TypeAdapter
        from typing_extensions import TypeAliasType
        from openai_codex.generated import protocol, _base
        from openai_codex.generated.notifications import NOTIFICATION_MODELS, NOTIFICATION_METHODS
        from openai_codex.generated.rpc_methods import SERVER_REQUEST_PARAMS, CLIENT_REQUEST_PARAMS
        built = 0
        for value in vars(protocol).values():
            if inspect.isclass(value) and issubclass(value, _base.CodexModel):
                value.model_rebuild(force=True)
                built += 1
            elif isinstance(value, TypeAliasType):
                TypeAdapter(value)
                built += 1
        assert built > 500, built
        assert set(NOTIFICATION_MODELS) == NOTIFICATION_METHODS
        assert "item/commandExecution/requestApproval" in SERVER_REQUEST_PARAMS
        assert {"thread/start", "turn/start", "turn/interrupt", "initialize"} <= set(CLIENT_REQUEST_PARAMS)
        item = {"type": "agentMessage", "id": "m", "text": "hi", "phase": None, "memoryCitation": None}
        turn = protocol.Turn.model_validate(
            {"id": "t", "items": [item], "status": "completed", "error": None, "itemsView": "full"}
        )
        assert type(turn.items[0]).__name__ == "AgentMessageThreadItem", turn.items
        assert turn.status == protocol.TurnStatus.completed
        """
    )
    subprocess.run([sys.executable, "-W", "error", "-c", script], check=True)


@pytest.mark.runtime
def test_the_binary_version_is_read_from_codex(real_codex_bin: Path) -> None:
    assert codex_binary_version(real_codex_bin) == parse_codex_version("0.169.0")


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("thread/goal/get", "thread_goal_get"),
        ("account/rateLimits/read", "account_rate_limits_read"),
        ("thread/inject_items", "thread_inject_items"),
        ("fuzzyFileSearch", "fuzzy_file_search"),
        ("mcpServerStatus/list", "mcp_server_status_list"),
        ("windowsSandbox/setupStart", "windows_sandbox_setup_start"),
        ("initialize", "initialize"),
    ],
)
def test_rpc_method_names_are_the_wire_words_in_snake_case(method: str, name: str) -> None:
    assert rpc_method_name(method) == name
