"""``bump``: move the SDK to another Codex release and say what changed in the protocol.

One command does what a maintainer would do by hand when Codex ships:

1. pick the release: the one asked for, or (``--latest``) the newest *stable* Codex release whose six
   platform packages are all published on the npm registry (a release whose Windows package is still
   missing cannot be staged, so it is not "out" yet);
2. export the app-server JSON Schema of the pinned runtime and of the new one (both fetched and
   integrity-checked through the toolkit's cache) and compare them: client methods, server requests and
   notifications added or removed, and every protocol type added, removed or changed, with the fields and
   enum values a changed type gained or lost (the names hand-written SDK code spells out);
3. regenerate the SDK's types from the new runtime (atomically, as ``generate-types`` does);
4. move the pin and the SDK version in ``sdk/pyproject.toml`` with tomlkit (comments and layout kept).

A version older than the pin is refused unless ``allow_downgrade``. Nothing is written until both
schemas were exported and compared, and the pyproject is replaced in one rename after the types, so a
failure leaves the checkout as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from packaging.version import InvalidVersion, Version

from codex_release.core.staging import write_text_files
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import InputRefused, ToolFailed

__all__ = [
    "NPM_PACKAGE",
    "BumpResult",
    "Delta",
    "ProtocolChanges",
    "bump",
    "diff_protocol",
    "latest_complete_release",
    "published_npm_versions",
    "rewrite_pins",
]

NPM_PACKAGE = "@openai/codex"


# -- which release ---------------------------------------------------------------------------------------


def published_npm_versions() -> list[str]:
    """Every version of ``@openai/codex`` on the npm registry (platform packages included)."""
    from codex_release.steps.fetch import _npm

    out = _npm("view", NPM_PACKAGE, "versions", "--json", timeout=120)
    try:
        versions = json.loads(out)
    except ValueError:
        versions = None
    if isinstance(versions, str):
        versions = [versions]
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise ToolFailed(f"`npm view {NPM_PACKAGE} versions` did not print a JSON list of versions: check npm")
    return versions


def latest_complete_release(versions: Iterable[str]) -> CodexVersion:
    """The newest stable release in ``versions`` that has every target's platform package."""
    from codex_release.core.targets import TARGETS

    published = set(versions)
    stable: list[Version] = []
    for text in published:
        if text.count(".") != 2 or not text.replace(".", "").isdigit() or len(text) > 32:
            continue  # platform packages (0.1.0-linux-x64), pre-releases (0.1.0-alpha.1), junk
        try:
            stable.append(Version(text))
        except InvalidVersion:
            continue
    for candidate in sorted(stable, reverse=True):
        text = str(candidate)
        if all(target.npm_spec(text).rsplit("@", 1)[1] in published for target in TARGETS):
            return parse_codex_version(text)
    raise InputRefused(
        f"no stable {NPM_PACKAGE} release has all {len(TARGETS)} platform packages published: "
        "pass --codex-version to choose one"
    )


# -- what changed ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """Names present only in the new schema (``added``) or only in the old one (``removed``)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @classmethod
    def between(cls, old: Iterable[str], new: Iterable[str]) -> Delta:
        before, after = set(old), set(new)
        return cls(tuple(sorted(after - before)), tuple(sorted(before - after)))

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class ProtocolChanges:
    """The difference between two app-server protocol schemas."""

    old: CodexVersion
    new: CodexVersion
    client_requests: Delta = field(default_factory=Delta)
    server_requests: Delta = field(default_factory=Delta)
    notifications: Delta = field(default_factory=Delta)
    client_notifications: Delta = field(default_factory=Delta)
    types: Delta = field(default_factory=Delta)
    types_changed: tuple[str, ...] = ()
    fields_changed: tuple[tuple[str, Delta], ...] = ()
    """Per changed type (a subset of ``types_changed``), the fields and enum values added or removed: what
    the hand-written SDK may have to follow (a renamed field shows as one removed and one added)."""

    def __bool__(self) -> bool:
        return bool(
            self.client_requests
            or self.server_requests
            or self.notifications
            or self.client_notifications
            or self.types
            or self.types_changed
        )

    def _sections(self) -> list[tuple[str, Delta]]:
        return [
            ("client methods", self.client_requests),
            ("server requests", self.server_requests),
            ("notifications", self.notifications),
            ("client notifications", self.client_notifications),
            ("types", self.types),
        ]

    def text(self) -> str:
        """A plain summary for the terminal."""
        lines = [f"protocol changes from Codex {self.old} to {self.new}:"]
        if not self:
            return lines[0] + " none"
        for title, delta in self._sections():
            extra = f", {len(self.types_changed)} changed" if title == "types" else ""
            lines.append(f"  {title}: {len(delta.added)} added, {len(delta.removed)} removed{extra}")
            lines += [f"    + {name}" for name in delta.added]
            lines += [f"    - {name}" for name in delta.removed]
            if title == "types":
                fields = dict(self.fields_changed)
                for name in self.types_changed:
                    detail = _field_words(fields[name]) if name in fields else ""
                    lines.append(f"    ~ {name}" + (f" ({detail})" if detail else ""))
        return "\n".join(lines)

    def markdown(self) -> str:
        """The summary as Markdown (the body of the pull request that moves the pin)."""
        out = [
            f"## Codex {self.old} → {self.new}",
            "",
            f"Moves the SDK to Codex `{self.new.tag}`: the `openai-codex-cli-bin` pin and the SDK version become "
            f"`{self.new}`, and the protocol types are regenerated from the new runtime's JSON Schema.",
            "",
        ]
        if not self:
            return "\n".join([*out, "The app-server protocol did not change.", ""])
        out += ["| | added | removed | changed |", "| --- | ---: | ---: | ---: |"]
        for title, delta in self._sections():
            changed = str(len(self.types_changed)) if title == "types" else ""
            out.append(f"| {title} | {len(delta.added)} | {len(delta.removed)} | {changed} |")
        for title, delta in self._sections():
            names = [f"- added `{n}`" for n in delta.added] + [f"- **removed** `{n}`" for n in delta.removed]
            if title == "types":
                fields = dict(self.fields_changed)
                for name in self.types_changed:
                    detail = _field_words(fields[name], code=True) if name in fields else ""
                    names.append(f"- changed `{name}`" + (f": {detail}" if detail else ""))
            if names:
                out += ["", f"### {title.capitalize()}", "", *names]
        return "\n".join([*out, ""])


def _field_words(delta: Delta, *, code: bool = False) -> str:
    quote = "`" if code else ""
    return " ".join(
        [f"+{quote}{name}{quote}" for name in delta.added] + [f"-{quote}{name}{quote}" for name in delta.removed]
    )


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def _members(schema: Any) -> set[str]:
    """The field names a type declares (its own properties and those of every ``oneOf``/``anyOf``/``allOf``
    variant, one level deep) and its enum values (quoted): the names SDK code or its users spell out.
    Nested shapes, descriptions and formats are left to the ``changed`` mark itself."""
    if not isinstance(schema, Mapping):
        return set()
    names: set[str] = set()
    variants = [schema.get(key) for key in ("oneOf", "anyOf", "allOf")]
    for node in [schema, *(v for found in variants if isinstance(found, list) for v in found)]:
        if not isinstance(node, Mapping):
            continue
        properties = node.get("properties")
        if isinstance(properties, Mapping):
            names.update(str(name) for name in properties)
        enum = node.get("enum")
        if isinstance(enum, list):
            names.update(json.dumps(value) for value in enum)
    return names


def diff_protocol(
    old: Mapping[str, Any], new: Mapping[str, Any], old_version: CodexVersion, new_version: CodexVersion
) -> ProtocolChanges:
    """Compare two ``generate-json-schema`` bundles (as ``flatten_bundle`` reads them)."""
    from codex_release.steps.generate_types import flatten_bundle

    old_schema, old_methods = flatten_bundle(old)
    new_schema, new_methods = flatten_bundle(new)
    old_types, new_types = old_schema["definitions"], new_schema["definitions"]
    changed = tuple(
        sorted(
            name
            for name in set(old_types) & set(new_types)
            if _canonical(old_types[name]) != _canonical(new_types[name])
        )
    )
    return ProtocolChanges(
        old=old_version,
        new=new_version,
        client_requests=Delta.between(old_methods.client_requests, new_methods.client_requests),
        server_requests=Delta.between(old_methods.server_requests, new_methods.server_requests),
        notifications=Delta.between(old_methods.server_notifications, new_methods.server_notifications),
        client_notifications=Delta.between(old_methods.client_notifications, new_methods.client_notifications),
        types=Delta.between(old_types, new_types),
        types_changed=changed,
        fields_changed=tuple(
            (name, delta)
            for name in changed
            if (delta := Delta.between(_members(old_types[name]), _members(new_types[name])))
        ),
    )


# -- the pyproject ---------------------------------------------------------------------------------------


def rewrite_pins(text: str, new: CodexVersion, where: str) -> str:
    """``sdk/pyproject.toml`` text with the runtime pin and the SDK version moved to ``new``."""
    from codex_release.core.pins import RUNTIME_DISTRIBUTION, runtime_dependency_index

    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise InputRefused(f"{where}: not valid TOML ({exc}): fix it first") from None
    project = document.get("project")
    dependencies = project.get("dependencies") if isinstance(project, Mapping) else None
    if not isinstance(project, Mapping) or not isinstance(dependencies, list):
        raise InputRefused(f"{where}: no [project] dependencies: is this the SDK's pyproject.toml?")
    dependencies[runtime_dependency_index(dependencies, where)] = f"{RUNTIME_DISTRIBUTION}=={new.pep440}"
    project["version"] = new.pep440  # type: ignore[index]
    return tomlkit.dumps(document)


# -- the command -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BumpResult:
    """What ``bump`` found and did."""

    old: CodexVersion
    new: CodexVersion
    changes: ProtocolChanges | None
    """``None`` when the pin already was ``new`` (nothing was compared or written)."""

    @property
    def moved(self) -> bool:
        return self.changes is not None


def bump(
    codex_version: CodexVersion | None,
    *,
    sdk_dir: Path,
    latest: bool = False,
    allow_downgrade: bool = False,
    generated_dir: Path | None = None,
) -> BumpResult:
    """Move the SDK in ``sdk_dir`` (a checkout's ``sdk/``) to ``codex_version`` or the latest.

    The types are regenerated into ``generated_dir`` (default: ``sdk_dir``'s ``src/openai_codex/generated``),
    under the output rules of the checkout that holds ``sdk_dir``.
    """
    from codex_release.core.pins import pinned_runtime_version
    from codex_release.steps.generate_types import export_bundle, generate_types, host_codex_binary

    if (codex_version is None) == (not latest):
        raise InputRefused("pass either --codex-version V or --latest")
    sdk = sdk_dir
    pyproject = sdk / "pyproject.toml"
    old = pinned_runtime_version(pyproject)
    new = codex_version if codex_version is not None else latest_complete_release(published_npm_versions())
    if new == old:
        return BumpResult(old, new, None)
    if new < old and not allow_downgrade:
        raise InputRefused(
            f"Codex {new} is older than the pinned {old}: pass --allow-downgrade to move the pin back anyway"
        )
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputRefused(f"cannot read {pyproject}: {exc}") from None
    updated = rewrite_pins(text, new, str(pyproject))
    old_bin, new_bin = host_codex_binary(old), host_codex_binary(new)
    new_bundle = export_bundle(new_bin)  # exported once: compared, then rendered
    changes = diff_protocol(export_bundle(old_bin), new_bundle, old, new)
    out_dir = generated_dir or sdk / "src" / "openai_codex" / "generated"
    generate_types(codex_bin=new_bin, codex_version=new, out_dir=out_dir, checkout=sdk.parent, bundle=new_bundle)
    write_text_files(pyproject.parent, {pyproject.name: updated}, label="the SDK's")
    return BumpResult(old, new, changes)
