"""``codex-release``: stage, build, verify and smoke-test the Codex Python SDK and its runtime wheels."""

from __future__ import annotations

import click

from codex_release import __version__
from codex_release.cli import (
    follow_commands,
    index_commands,
    publish_commands,
    release_commands,
    runtime_commands,
    sdk_commands,
)

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="codex-release")
def main() -> None:
    """Release toolkit for openai-codex (the SDK) and openai-codex-cli-bin (its per-platform runtime).

    Everything is version-locked to one Codex release: pass --codex-version as a release tag
    (rust-v0.169.0, 0.154.0-alpha.1) or as its PEP 440 form (0.169.0, 0.154.0a1). Without it, commands
    use the runtime pinned in sdk/pyproject.toml.
    """


for _module in (runtime_commands, sdk_commands, release_commands, publish_commands, follow_commands, index_commands):
    for _command in _module.COMMANDS:
        main.add_command(_command)
