"""Commands of this group (registered by codex_release.cli): following Codex releases."""

from __future__ import annotations

from pathlib import Path

import click

from codex_release.cli.options import append_github_output, codex_version_option, current_checkout
from codex_release.core.versions import CodexVersion

_OUTPUT_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("bump")
@codex_version_option(
    required=False,
    help_text="The Codex release to move to, as a tag (rust-v0.171.0) or PEP 440 version (0.171.0).",
)
@click.option(
    "--latest",
    is_flag=True,
    help="Move to the newest stable Codex release whose platform packages are all published.",
)
@click.option("--allow-downgrade", is_flag=True, help="Accept a release older than the current pin.")
@click.option(
    "--summary",
    "summary_file",
    type=_OUTPUT_FILE,
    metavar="FILE",
    help="Write the protocol changes as Markdown (the body of the pull request) to FILE.",
)
@click.option(
    "--github-output",
    type=_OUTPUT_FILE,
    metavar="FILE",
    help="Append changed=true|false, version and tag as key=value lines (GitHub's $GITHUB_OUTPUT).",
)
def bump_command(
    codex_version: CodexVersion | None,
    latest: bool,
    allow_downgrade: bool,
    summary_file: Path | None,
    github_output: Path | None,
) -> None:
    """Move the SDK to another Codex release: pin, SDK version and generated types.

    Exports the app-server JSON Schema of the pinned runtime and of the new one, regenerates the SDK's
    types from the new runtime, moves the openai-codex-cli-bin pin and the SDK version in
    sdk/pyproject.toml, and prints what changed in the protocol: client methods, server requests and
    notifications added or removed, and types added, removed or changed (with the fields and enum values
    each changed type gained or lost). A release older than the pin is refused unless --allow-downgrade.
    When the pin already is that release nothing is written.
    """
    from codex_release.steps.bump import bump

    result = bump(codex_version, sdk_dir=current_checkout().sdk, latest=latest, allow_downgrade=allow_downgrade)
    if result.changes is None:
        click.echo(f"the SDK already pins Codex {result.new}: nothing to do")
    else:
        click.echo(f"moved the SDK from Codex {result.old} to {result.new}")
        click.echo(result.changes.text())
    if summary_file is not None:
        body = (
            result.changes.markdown() if result.changes is not None else f"The SDK already pins Codex {result.new}.\n"
        )
        summary_file.write_text(body, encoding="utf-8")
    if github_output is not None:
        lines = [
            f"changed={'true' if result.moved else 'false'}",
            f"version={result.new.pep440}",
            f"tag={result.new.tag}",
        ]
        append_github_output(github_output, lines)


COMMANDS: list[click.Command] = [bump_command]
