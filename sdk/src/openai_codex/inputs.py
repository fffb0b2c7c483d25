"""What a turn is given: text, images, skills and mentions.

``thread.run(...)`` / ``thread.turn(...)`` / ``handle.steer(...)`` accept a ``str`` (one text input), one
of the input objects below, or a list mixing both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = [
    "ImageInput",
    "Input",
    "InputItem",
    "LocalImageInput",
    "MentionInput",
    "SkillInput",
    "TextInput",
    "to_wire_input",
]

ImageDetail = Literal["auto", "low", "high", "original"]


@dataclass(frozen=True)
class TextInput:
    """Plain text from the user."""

    text: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text, "text_elements": []}


@dataclass(frozen=True)
class ImageInput:
    """An image by URL (``https://...`` or a ``data:`` URL)."""

    url: str
    detail: ImageDetail | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": "image", "url": self.url}
        if self.detail is not None:
            wire["detail"] = self.detail
        return wire


@dataclass(frozen=True)
class LocalImageInput:
    """An image file on the machine that runs the app-server."""

    path: str | os.PathLike[str]
    detail: ImageDetail | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": "localImage", "path": os.fspath(self.path)}
        if self.detail is not None:
            wire["detail"] = self.detail
        return wire


@dataclass(frozen=True)
class SkillInput:
    """Invoke the skill ``name`` whose ``SKILL.md`` is at ``path``."""

    name: str
    path: str | os.PathLike[str]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "skill", "name": self.name, "path": os.fspath(self.path)}


@dataclass(frozen=True)
class MentionInput:
    """Mention a resource (an app, a plugin, ...) by ``name`` and ``path`` (e.g. ``app://<connector-id>``)."""

    name: str
    path: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "mention", "name": self.name, "path": self.path}


InputItem: TypeAlias = TextInput | ImageInput | LocalImageInput | SkillInput | MentionInput
Input: TypeAlias = str | InputItem | Sequence[str | InputItem]

_ITEM_TYPES = (TextInput, ImageInput, LocalImageInput, SkillInput, MentionInput)


def _one(item: object) -> dict[str, Any]:
    if isinstance(item, str):
        return TextInput(item).to_wire()
    if isinstance(item, _ITEM_TYPES):
        return item.to_wire()
    raise TypeError(
        f"turn input must be a str, TextInput, ImageInput, LocalImageInput, SkillInput or MentionInput "
        f"(or a list of them), not {type(item).__name__}"
    )


def to_wire_input(value: Input) -> list[dict[str, Any]]:
    """The wire ``input`` array (``UserInput[]``) for ``value``."""
    if isinstance(value, (str, *_ITEM_TYPES)):
        return [_one(value)]
    if isinstance(value, Sequence):
        items = [_one(item) for item in value]
        if not items:
            raise ValueError("turn input is empty: pass a str or at least one input object")
        return items
    return [_one(value)]
