"""Build hook of openai-codex-cli-bin: a platform wheel only, tagged by what stage-runtime derived."""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CodexRuntimeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version != "standard":
            raise RuntimeError(
                "openai-codex-cli-bin is published as platform wheels only (no sdist, no editable "
                "install): build the staged directory with `python -m build --wheel`"
            )
        tag = str(self.config.get("platform-tag", "")).strip()
        if not tag:
            raise RuntimeError(
                "no platform tag set: stage this template with `codex-release stage-runtime` before building"
            )
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{tag}"
