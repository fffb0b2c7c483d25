"""The models side of ``generate-types``: run datamodel-code-generator, then read what it wrote.

``datamodel-code-generator`` runs as a subprocess (it keeps process-wide state). Options that shape the API:
snake_case fields with camelCase aliases, ``str`` enums, ``Literal`` for single-value enums,
``TypeAliasType`` for unions (``ThreadItem``), class names from schema titles, the built-in formatter (no
external formatter version can change the bytes), and no ``from __future__ import annotations`` (pydantic
would have to compile every annotation string at import, which doubles the import time of ~800 models).
Every model derives from the SDK's hand-written ``openai_codex._model_base.CodexModel``.

The generated module is then read back as an AST (never imported: the toolkit does not depend on the
SDK's runtime) into a :class:`ModelIndex`, from which the typed method signatures are written.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from codex_release.errors import ToolFailed
from codex_release.steps.generate_types.runtime import run_checked

__all__ = [
    "BASE_CLASS",
    "BASE_MODULE",
    "Field",
    "ModelIndex",
    "generator_version",
    "read_models",
    "run_datamodel_codegen",
]

BASE_MODULE = "openai_codex._model_base"
BASE_CLASS = "CodexModel"

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
    f"--base-class={BASE_MODULE}.{BASE_CLASS}",
)

_CONSTRAINED = {"conint": "int", "confloat": "float", "constr": "str", "conbytes": "bytes"}
"""pydantic's constrained-type calls, as the plain types a signature shows (the server checks the bounds)."""


def generator_version() -> str:
    try:
        return metadata.version("datamodel-code-generator")
    except metadata.PackageNotFoundError:
        raise ToolFailed(
            "datamodel-code-generator is not installed: run `make setup` (it is a dev dependency of the toolkit)"
        ) from None


def run_datamodel_codegen(schema: Mapping[str, Any], output: Path, header: str) -> None:
    with tempfile.TemporaryDirectory(prefix="codex-schema-") as work:
        schema_path = Path(work) / "protocol.schema.json"
        schema_path.write_text(json.dumps(schema, indent=1, sort_keys=True), encoding="utf-8")
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"}
        run_checked(
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
        raise ToolFailed("datamodel-code-generator wrote no output: check its version (it is a dev dependency)")


@dataclass(frozen=True)
class Field:
    """One field of a generated model, as a method parameter shows it."""

    name: str
    """snake_case Python name."""
    wire: str
    """camelCase wire name (the alias)."""
    annotation: str
    """Source of the type as a parameter: protocol names as ``_m.X``; a string enum also accepts its wire
    values, a model its JSON object."""
    plain: str
    """Source of the type as a value (a method returning the field): protocol names as ``_m.X``."""
    required: bool
    doc: str
    """First paragraph of the field's description in the schema (empty when it has none)."""


@dataclass(frozen=True)
class ModelIndex:
    """What the generated ``protocol`` module defines, read from its source."""

    names: frozenset[str]
    """Every top-level name (classes and type aliases)."""
    classes: frozenset[str]
    fields: Mapping[str, tuple[Field, ...]]
    """Fields of every model class, in order."""


def read_models(module: Path) -> ModelIndex:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: set[str] = set()
    classes: set[str] = set()
    enums: dict[str, list[str]] = {}
    aliases: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            classes.add(node.name)
            if any(isinstance(base, ast.Name) and base.id == "Enum" for base in node.bases):
                enums[node.name] = [
                    item.value.value
                    for item in node.body
                    if isinstance(item, ast.Assign)
                    and isinstance(item.value, ast.Constant)
                    and isinstance(item.value.value, str)
                ]
        elif isinstance(node, ast.Assign):
            targets = [target.id for target in node.targets if isinstance(target, ast.Name)]
            names.update(targets)
            value = node.value
            if isinstance(value, ast.Call) and len(value.args) == 2 and len(targets) == 1:  # TypeAliasType(name, X)
                aliases[targets[0]] = value.args[1]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    strings = _wire_strings(enums, aliases)
    objects = _objects(classes - set(enums), aliases)
    fields = {
        node.name: tuple(_fields(node, names, strings, objects)) for node in tree.body if isinstance(node, ast.ClassDef)
    }
    return ModelIndex(frozenset(names), frozenset(classes), fields)


def _wire_strings(enums: Mapping[str, list[str]], aliases: Mapping[str, ast.expr]) -> dict[str, list[str]]:
    """The wire strings each string enum (or alias of a union holding string enums) accepts.

    A parameter typed ``AskForApproval`` then also takes ``"never"``: the README's spelling type-checks.
    """

    def of(name: str, seen: frozenset[str]) -> list[str]:
        if name in enums:
            return list(enums[name])
        if name not in aliases or name in seen:
            return []
        found: list[str] = []
        for node in ast.walk(aliases[name]):
            if isinstance(node, ast.Name):
                found += [value for value in of(node.id, seen | {name}) if value not in found]
        return found

    return {name: values for name in [*enums, *aliases] if (values := of(name, frozenset()))}


def _objects(models: set[str], aliases: Mapping[str, ast.expr]) -> set[str]:
    """Model classes and aliases of unions holding one: a parameter typed so also takes the JSON object."""
    found = set(models)
    changed = True
    while changed:
        changed = False
        for name, value in aliases.items():
            if name not in found and any(isinstance(n, ast.Name) and n.id in found for n in ast.walk(value)):
                found.add(name)
                changed = True
    return found


def _fields(node: ast.ClassDef, names: set[str], strings: Mapping[str, list[str]], objects: set[str]) -> list[Field]:
    fields: list[Field] = []
    body = node.body
    for index, item in enumerate(body):
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
        following = body[index + 1] if index + 1 < len(body) else None
        doc = ""
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            doc = " ".join(str(following.value.value).strip().split("\n\n")[0].split())
        annotation = _annotation(item.annotation, names, strings, objects)
        plain = _annotation(item.annotation, names, {}, set())
        fields.append(Field(name, wire, annotation, plain, required, doc))
    return fields


def _annotation(annotation: ast.expr, names: set[str], strings: Mapping[str, list[str]], objects: set[str]) -> str:
    """The annotation's source with every protocol name as ``_m.X`` (``_m.X | Literal[...]`` for a string
    enum, ``_m.X | Mapping[str, Any]`` for a model: its JSON is accepted too) and pydantic's constrained types
    as plain ones."""

    class Rewrite(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id not in names:
                return node
            qualified: ast.expr = ast.Attribute(ast.Name("_m", ast.Load()), node.id, ast.Load())
            if node.id in strings:  # a placeholder, replaced after unparse (which would single-quote)
                literals.append(f"Literal[{', '.join(json.dumps(value) for value in strings[node.id])}]")
                placeholder = ast.Name(f"__literal_{len(literals) - 1}__", ast.Load())
                qualified = ast.BinOp(qualified, ast.BitOr(), placeholder)
            if node.id in objects:
                qualified = ast.BinOp(qualified, ast.BitOr(), ast.Name("Mapping[str, Any]", ast.Load()))
            return ast.copy_location(qualified, node)

        def visit_Call(self, node: ast.Call) -> ast.AST:
            if isinstance(node.func, ast.Name) and node.func.id in _CONSTRAINED:
                return ast.copy_location(ast.Name(_CONSTRAINED[node.func.id], ast.Load()), node)
            return self.generic_visit(node)

    literals: list[str] = []
    source = ast.unparse(Rewrite().visit(copy.deepcopy(annotation)))  # the transformer edits in place
    for index, literal in enumerate(literals):
        source = source.replace(f"__literal_{index}__", literal)
    return source
