"""Runtime-wheel commands: matrix, fetch-runtime, stage-runtime, verify."""

from __future__ import annotations

import json

import click

from codex_release.targets import TARGETS


@click.command("matrix")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON (for GitHub Actions matrices).")
def matrix_command(as_json: bool) -> None:
    """Print the release target table: Rust target, npm package, wheel tags, runner."""
    if as_json:
        click.echo(json.dumps({"include": [t.as_json() for t in TARGETS]}, sort_keys=True))
        return
    for target in TARGETS:
        click.echo(f"{target.triple:28} {target.npm_suffix:12} {'.'.join(target.expected_tags):60} {target.runner}")


COMMANDS: list[click.Command] = [matrix_command]
