"""``CodexModel``: the base class of every generated protocol model (``openai_codex.generated.protocol``).

Hand-written, so its configuration is read and reviewed as SDK code; ``generate-types`` only names it as the
base class. Importing it imports pydantic: only the generated modules do, never ``import openai_codex``.
"""

from pydantic import BaseModel, ConfigDict

__all__ = ["CodexModel"]


class CodexModel(BaseModel):
    """A protocol type: snake_case attributes, camelCase on the wire (``model_dump(by_alias=True)``).

    Unknown fields are kept (``extra="allow"``) so data from a newer runtime survives a round trip, and
    validators are built on first use (``defer_build``), which keeps importing ~900 models quick.
    ``populate_by_name`` lets code build a model with the snake_case names; ``protected_namespaces=()``
    lets the protocol have fields such as ``model_provider`` without pydantic's warning.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        protected_namespaces=(),
        extra="allow",
        defer_build=True,
    )
