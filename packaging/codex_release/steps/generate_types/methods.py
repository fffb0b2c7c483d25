"""Writes request methods, blocking and coroutine twins from one :class:`~.surface.Request` each.

Two generated modules come from here: ``api.py`` (the named methods of ``Codex``, ``Thread``, ... described in
:mod:`.surface`, as mixins) and ``rpc.py`` (``codex.rpc``: one method per client request of the protocol).
A method's parameters are fields of its ``*Params`` model, typed as the generated model types them, so the
signature an IDE or mypy shows is the schema's; the body puts them on the wire (``wire_params``: ``None`` is
left out) and hands the answer to ``parse_result`` or to a primitive of the hand-written class. The twins
differ only by ``async def`` / ``await``: that is the one place the difference is written.
"""

from __future__ import annotations

import json
import keyword
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from codex_release.errors import Unsupported
from codex_release.steps.generate_types.models import Field, ModelIndex
from codex_release.steps.generate_types.surface import OWNERS, PRESETS, Owner, Request

__all__ = ["render_api", "render_rpc", "rpc_method_name"]

_KIND_CALLS = {
    "thread": "_open_thread",
    "turn": "_start_turn",
    "run": "_run_turn",
    "goal": "_start_goal",
    "run_goal": "_run_goal",
}
_SDK_RETURNS = {
    "thread": "Thread",
    "turn": "TurnHandle",
    "run": "TurnResult",
    "goal": "GoalHandle",
    "run_goal": "GoalResult",
}
_WAITS = ("run", "run_goal")
"""The kinds that wait for the end (they take ``timeout`` and return the same result type sync and async)."""


def rpc_method_name(method: str) -> str:
    """The Python name of a wire method: its words in snake_case joined by ``_``.

    ``thread/goal/get`` -> ``thread_goal_get``, ``account/rateLimits/read`` -> ``account_rate_limits_read``.
    """
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", method.replace("/", "_")).lower()
    name = re.sub(r"[^a-z0-9_]", "_", words)
    return f"{name}_" if keyword.iskeyword(name) else name


@dataclass(frozen=True)
class _Param:
    source: str
    """``name: annotation[ = default]``."""
    doc: str = ""


_PRESET_TYPES = re.compile(r"\b_m\.(" + "|".join(map(re.escape, PRESETS)) + r")\b")


def _with_presets(annotation: str) -> str:
    """A parameter's annotation with the preset enum of :data:`~.surface.PRESETS` in front of its protocol type
    (``_m.SandboxMode | Literal[...]`` -> ``Sandbox | _m.SandboxMode | Literal[...]``)."""
    return _PRESET_TYPES.sub(lambda match: f"{PRESETS[match.group(1)]} | {match.group(0)}", annotation)


def _fields(request: Request, models: ModelIndex, where: str) -> dict[str, Field]:
    if request.params is None:
        return {}
    if request.params not in models.fields:
        raise Unsupported(
            f"{where} takes the fields of {request.params}, which the pinned schema does not define as a model: "
            "update codex_release.steps.generate_types.surface for this runtime"
        )
    fields = {f.name: f for f in models.fields[request.params]}
    named = [arg.name for arg in request.args] + list(request.bound)
    missing = [name for name in named if name not in fields]
    if missing:
        raise Unsupported(
            f"{where} names {', '.join(missing)}, which {request.params} no longer has: "
            "update codex_release.steps.generate_types.surface for this runtime"
        )
    return fields


def _returns(request: Request, models: ModelIndex, owner: str, is_async: bool) -> str:
    if request.returns == "none":
        return "None"
    if request.returns in _SDK_RETURNS:
        name = _SDK_RETURNS[request.returns]
        return f"Async{name}" if is_async and request.returns not in _WAITS else name
    if request.result is None:
        return "Any"
    if request.pick is None:
        return f"_m.{request.result}"
    picked = {f.name: f for f in models.fields.get(request.result, ())}.get(request.pick)
    if picked is None:
        raise Unsupported(f"{owner}.{request.name} returns {request.result}.{request.pick}, which the schema lacks")
    return picked.plain


def _method(request: Request, models: ModelIndex, owner: str, is_async: bool) -> list[str]:
    where = f"{owner}.{request.name}"
    fields = _fields(request, models, where)
    params: list[_Param] = [_Param("self")]
    wire: dict[str, str] = {key: json.dumps(value) for key, value in request.const.items()}
    keywords: list[_Param] = []
    for arg in request.args:
        field = fields[arg.name]
        annotation = arg.annotation or _with_presets(field.annotation)
        default = f" = {arg.default}" if arg.default is not None else ""
        (keywords if arg.keyword else params).append(_Param(f"{arg.name}: {annotation}{default}", field.doc))
        wire[field.wire] = f"{arg.convert}({arg.name})" if arg.convert else arg.name
    for name, attribute in request.bound.items():
        wire[fields[name].wire] = f"self.{attribute}"
    if request.returns in _WAITS:
        keywords.append(_Param("timeout: float | None = None"))
    if request.keywords:
        taken = {arg.name for arg in request.args} | set(request.bound)
        rest = [f for f in fields.values() if f.name not in taken and f.wire not in request.const]
        for f in sorted(rest, key=lambda f: not f.required):  # required first, then the schema's order
            annotation = _with_presets(f.annotation)
            keywords.append(_Param(f"{f.name}: {annotation}" + ("" if f.required else " = None"), f.doc))
            wire[f.wire] = f.name
    if request.tools:
        keywords.append(_Param("tools: Iterable[Tool | Callable[..., Any]] | None = None"))
    if keywords:
        params.append(_Param("*"))
        params += keywords

    prefix, wait = ("async def", "await ") if is_async else ("def", "")
    body = [] if request.params is None else _wire_assignment(wire)
    payload = "None" if request.params is None else "_params"
    send = f'{wait}self._request("{request.method}", {payload})'
    if request.returns in _KIND_CALLS:
        extra = ", tools" if request.tools else (", timeout" if request.returns in _WAITS else "")
        first = f'"{request.method}", ' if request.returns == "thread" else ""
        body.append(f"return {wait}self.{_KIND_CALLS[request.returns]}({first}{payload}{extra})")
    elif request.returns == "none":
        body.append(f'parse_result("{request.result}", {send})' if request.result else send)
    elif request.result is None:
        body.append(f"return {send}")
    else:  # parse_result gives Any: the annotated name tells mypy what it is
        body.append(f'answer: _m.{request.result} = parse_result("{request.result}", {send})')
        body.append(f"return answer.{request.pick}" if request.pick else "return answer")
    returns = _returns(request, models, owner, is_async)
    return [
        f"    {prefix} {request.name}(",
        *[f"        {param.source}," for param in params],
        f"    ) -> {returns}:",
        *_docstring(request, params, generic=owner.endswith("Rpc")),
        *[f"        {line}" for line in body],
    ]


def _wire_assignment(wire: Mapping[str, str]) -> list[str]:
    if not wire:
        return ["_params: dict[str, Any] = {}"]
    return [
        "_params = wire_params(",
        "    {",
        *[f"        {json.dumps(k)}: {v}," for k, v in wire.items()],
        "    }",
        ")",
    ]


def _docstring(request: Request, params: Iterable[_Param], *, generic: bool) -> list[str]:
    lines = request.doc.strip().splitlines()
    if request.keywords and request.params and not generic:
        lines += ["", f"Keyword arguments are fields of ``{request.params}`` (``None`` leaves one out)."]
    documented = [(p.source.split(":", 1)[0], p.doc) for p in params if p.doc]
    if documented:
        lines += ["", "Args:"]
        for name, text in documented:
            lines += textwrap.wrap(f"{name}: {text}", 104, initial_indent="    ", subsequent_indent="        ")
    if not generic:
        lines += ["", f"Wire method: ``{request.method}``."]
    body = [f"        {line}".rstrip() for line in lines]
    body[0] = '        """' + body[0].lstrip()
    body.append('        """')
    return [line.replace("\\", "\\\\") for line in body]


def _class(name: str, base: str, doc: str, methods: list[list[str]]) -> list[str]:
    lines = [f"class {name}({base}):", f'    """{doc}"""', "", "    __slots__ = ()"]
    for method in methods:
        lines += ["", *method]
    return [*lines, "", ""]


_API_TEMPLATE = '''{header}"""The named request methods of the SDK's classes, blocking and as coroutines.

Each ``<Class>Requests`` mixin is inherited by the hand-written class of that name (``CodexRequests`` by
``Codex``, ``AsyncCodexRequests`` by ``AsyncCodex``, ...), which gives the primitives declared by its base in
``openai_codex._requests``. The methods are described once in ``codex_release.steps.generate_types.surface``; their
parameters are the fields of the pinned schema's ``*Params`` models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from openai_codex import _requests
from openai_codex._requests import parse_result, wire_params
from openai_codex.inputs import to_wire_input

if TYPE_CHECKING:
    from openai_codex._async_client import AsyncGoalHandle, AsyncThread, AsyncTurnHandle
    from openai_codex._client import GoalHandle, Thread, TurnHandle
    from openai_codex._goals import GoalResult
    from openai_codex._turns import TurnResult
    from openai_codex.generated import protocol as _m
    from openai_codex.inputs import Input
    from openai_codex.presets import ApprovalMode, Sandbox
    from openai_codex.tools import Tool

__all__ = [
{names}
]

_ = (Any, Callable, Iterable, Literal, Mapping, to_wire_input)  # names the methods' annotations and bodies may use


{classes}'''


def render_api(header: str, models: ModelIndex, owners: Iterable[Owner] = OWNERS) -> str:
    """``api.py``: a blocking and a coroutine mixin per owner of :data:`~.surface.OWNERS`."""
    classes: list[str] = []
    names: list[str] = []
    for owner in owners:
        for is_async in (False, True):
            cls = f"Async{owner.name}" if is_async else owner.name
            methods = [_method(request, models, cls, is_async) for request in owner.requests]
            base = f"_requests.{cls}Base"
            doc = f"The request methods of :class:`~openai_codex.{cls}`."
            classes += _class(f"{cls}Requests", base, doc, methods)
            names.append(f"{cls}Requests")
    return _API_TEMPLATE.format(
        header=header,
        names="\n".join(f"    {json.dumps(n)}," for n in names),
        classes="\n".join(classes).rstrip() + "\n",
    )


_RPC_TEMPLATE = '''{header}"""``codex.rpc``: one typed method per client request of the protocol.

Named by the wire method in snake_case words (``thread/goal/get`` -> ``thread_goal_get``); keyword arguments
are the params' fields in snake_case (``None`` leaves a field out); the result is validated into the
method's ``*Response`` model (raw JSON where the protocol names none). ``Rpc`` blocks; ``AsyncRpc``'s
methods are coroutines. Some methods need ``CodexConfig(experimental_api=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from openai_codex._params import to_wire_value
from openai_codex._requests import AsyncRpcBase, RpcBase, parse_result, wire_params

if TYPE_CHECKING:
    from openai_codex.generated import protocol as _m
    from openai_codex.presets import ApprovalMode, Sandbox

__all__ = ["AsyncRpc", "Rpc"]

_ = (Literal, Mapping)  # names the methods' annotations may use


{classes}'''


def _union_method(method: str, params: str, result: str | None, is_async: bool) -> list[str]:
    """A method whose params are a union of shapes: it takes one of them (a model or its JSON)."""
    prefix, wait = ("async def", "await ") if is_async else ("def", "")
    returns = f"_m.{result}" if result else "Any"
    send = f'{wait}self._request("{method}", to_wire_value(params))'
    body = [f'answer: {returns} = parse_result("{result}", {send})', "return answer"] if result else [f"return {send}"]
    return [
        f"    {prefix} {rpc_method_name(method)}(self, params: _m.{params} | Mapping[str, Any]) -> {returns}:",
        f'        """``{method}`` (params ``{params}``, one of its shapes as a model or JSON)."""',
        *[f"        {line}" for line in body],
    ]


def render_rpc(
    header: str,
    client_requests: Mapping[str, str | None],
    results: Mapping[str, str],
    models: ModelIndex,
) -> str:
    """``rpc.py``: ``Rpc`` and ``AsyncRpc``, one typed method per client request."""
    seen: dict[str, str] = {}
    for method in client_requests:
        name = rpc_method_name(method)
        if name in seen:
            raise Unsupported(f"client requests {seen[name]!r} and {method!r} both become rpc.{name}: rename one")
        seen[name] = method
    classes: list[str] = []
    for is_async in (False, True):
        methods: list[list[str]] = []
        for method in sorted(client_requests):
            params, result = client_requests[method], results.get(method)
            if params is not None and params not in models.fields:
                methods.append(_union_method(method, params, result, is_async))
                continue
            what = (f"params ``{params}``" if params else "no params") + (
                f", result ``{result}``" if result else ", raw JSON result"
            )
            request = Request(
                rpc_method_name(method), method, f"``{method}`` ({what}).", params, keywords=True, result=result
            )
            methods.append(_method(request, models, "Rpc", is_async))
        cls = "AsyncRpc" if is_async else "Rpc"
        doc = (
            "Every client request of the protocol, as a coroutine (``AsyncCodex.rpc``)."
            if is_async
            else "Every client request of the protocol, as a blocking method (``Codex.rpc``)."
        )
        classes += _class(cls, f"{cls}Base", doc, methods)
    return _RPC_TEMPLATE.format(header=header, classes="\n".join(classes).rstrip() + "\n")
