"""``codex-release``: stage, build, verify and smoke-test the Codex Python SDK and its runtime wheels."""

from __future__ import annotations

from pathlib import Path

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
from codex_release.cli.boundary import DEBUG_ENV, ReleaseGroup
from codex_release.cli.options import locate_checkout
from codex_release.core.locations import CHECKOUT_ENV

__all__ = ["main"]


@click.group(cls=ReleaseGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="codex-release")
@click.option(
    "--debug",
    is_flag=True,
    envvar=DEBUG_ENV,
    help=f"Show the traceback of an error (also {DEBUG_ENV}=1). Without it every error is one line.",
)
@click.option(
    "--checkout",
    type=click.Path(path_type=Path),
    envvar=CHECKOUT_ENV,
    metavar="DIR",
    help=f"The repository checkout to work on (also {CHECKOUT_ENV}=DIR). Default: the nearest directory at or "
    "above the current one that holds sdk/pyproject.toml and runtime/, else the checkout an editable install "
    "runs from.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, checkout: Path | None) -> None:
    """Release toolkit for openai-codex (the SDK) and openai-codex-cli-bin (its per-platform runtime).

    Everything is version-locked to one Codex release: pass --codex-version as a release tag
    (rust-v0.169.0, 0.154.0-alpha.1) or as its PEP 440 form (0.169.0, 0.154.0a1). Without it, commands
    use the runtime pinned in sdk/pyproject.toml; every command that releases refuses any other version
    (`bump` moves the pin).

    Every error is one line on stderr and exit status 1; an unexpected one says it is a bug
    (--debug shows its traceback). Ctrl-C exits 130.
    """
    ctx.obj = locate_checkout(ctx, checkout)


for _module in (runtime_commands, sdk_commands, release_commands, publish_commands, follow_commands, index_commands):
    for _command in _module.COMMANDS:
        main.add_command(_command)
