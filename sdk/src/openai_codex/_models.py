"""The one door to the generated pydantic models (``openai_codex.generated``), opened on first use.

Importing the ~800 generated models is the expensive part of this SDK, so nothing imports them at
``import openai_codex`` time: the client asks this module when it first needs a model.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["notification_model", "protocol_attr"]


def protocol_attr(name: str) -> Any:
    """A name (model class or type alias) of the generated ``protocol`` module."""
    return getattr(import_module("openai_codex.generated.protocol"), name)


def notification_model(method: str) -> type[BaseModel] | None:
    """The payload model of a server notification method (``None`` for methods unknown to the SDK)."""
    from openai_codex.generated.notifications import NOTIFICATION_MODELS

    return NOTIFICATION_MODELS.get(method)
