"""Release toolkit for the Codex Python SDK and its per-platform runtime wheels."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
