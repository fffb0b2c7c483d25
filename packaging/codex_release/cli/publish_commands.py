"""Commands of this group (registered by codex_release.cli)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
