"""``output_schema=`` a pydantic model class (or a JSON Schema dict) and ``TurnResult.parsed``: the strict
schema reaches the model; a valid answer becomes the instance, an invalid one a typed error with the raw
text (real runtime, sync and async)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from codex_release.checks.fake_responses import FakeResponsesServer, Text
from openai_codex import AsyncCodex, Codex, CodexConfig, CodexError, OutputParseError
from openai_codex._structured import parse_output, strict_schema


class Part(BaseModel):
    name: str
    count: int


class Inventory(BaseModel):
    owner: str
    parts: list[Part]
    note: str | None = None


VALID = '{"owner": "Ada", "parts": [{"name": "gear", "count": 3}], "note": null}'
INVALID = '{"owner": "Ada", "parts": [{"name": "gear", "count": "many"}]}'


def test_strict_schema_closes_every_object_and_requires_every_property() -> None:
    schema = strict_schema(Inventory)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["owner", "parts", "note"]
    part = schema["$defs"]["Part"]
    assert (part["additionalProperties"], part["required"]) == (False, ["name", "count"])
    assert "default" not in schema["properties"]["note"]  # strict mode refuses "default": null
    assert {"type": "null"} in schema["properties"]["note"]["anyOf"]  # optional = nullable


def test_parse_output_errors() -> None:
    with pytest.raises(OutputParseError) as caught:
        parse_output(INVALID, Inventory)
    assert caught.value.raw_text == INVALID
    assert "parts.0.count" in str(caught.value)
    assert caught.value.errors[0]["loc"] == ("parts", 0, "count")
    assert isinstance(caught.value, CodexError)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(OutputParseError, match="not JSON") as not_json:
        parse_output("Sure! Here it is.", dict)
    assert not_json.value.raw_text == "Sure! Here it is."
    with pytest.raises(OutputParseError, match="no final message"):
        parse_output(None, Inventory)
    assert parse_output("[1, 2]", None) == [1, 2]


def _sent_schema(fake: FakeResponsesServer) -> dict[str, Any]:
    body = fake.model_requests[-1].body
    return body["text"]["format"]["schema"]  # type: ignore[no-any-return]


@pytest.mark.runtime
def test_parsed_sync(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text(VALID, deltas=4), Text(INVALID), Text('{"answer": 42}'))
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        result = thread.run("Count the parts.", output_schema=Inventory)
        assert _sent_schema(fake_model) == strict_schema(Inventory)
        assert result.parsed == Inventory(owner="Ada", parts=[Part(name="gear", count=3)])
        assert result.output_type is Inventory
        inventory = result.parsed_as(Inventory)  # typed: mypy checks the attribute access below
        assert inventory.parts[0].count == 3
        with pytest.raises(OutputParseError, match="does not validate as Part"):
            result.parsed_as(Part)

        handle = thread.turn("Again.", output_schema=Inventory)  # the handle's result() parses too
        with pytest.raises(OutputParseError) as caught:
            _ = handle.result().parsed
        assert caught.value.raw_text == INVALID

        plain = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
        result = thread.run("Answer.", output_schema=plain)
        assert _sent_schema(fake_model) == plain  # a dict goes to the model as it is
        assert result.parsed == {"answer": 42}


@pytest.mark.runtime
async def test_parsed_async(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text(VALID, deltas=4), Text(INVALID))
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        result = await thread.run("Count the parts.", output_schema=Inventory)
        assert _sent_schema(fake_model) == strict_schema(Inventory)
        assert result.parsed.parts[0].count == 3
        handle = await thread.turn("Again.", output_schema=Inventory)
        result = await handle.result()
    with pytest.raises(OutputParseError) as caught:
        _ = result.parsed
    assert caught.value.raw_text == INVALID
