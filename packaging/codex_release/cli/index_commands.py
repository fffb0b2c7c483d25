"""Commands of this group (registered by codex_release.cli): checking what the package index serves."""

from __future__ import annotations

from pathlib import Path

import click

from codex_release.cli.options import codex_version_option, dist_dir_option, version_or_pin
from codex_release.versions import CodexVersion


@click.command("verify-index")
@codex_version_option(required=False)
@dist_dir_option("The release as built: its SHA256SUMS and manifest.json are the reference.")
@click.option(
    "--index-url",
    metavar="URL",
    help="Simple index to check. Default: the one pip uses (PIP_INDEX_URL, pip config, pip's default).",
)
def verify_index_command(codex_version: CodexVersion | None, dist_dir: Path, index_url: str | None) -> None:
    """Check what the package index serves for a release, after publishing.

    Downloads every file of the version of openai-codex-cli-bin and openai-codex from the index and
    checks the exact set of file names and each file's sha256 against DIST_DIR's SHA256SUMS and
    manifest.json; where the index reports provenance (PEP 740), every file must have it. Prints one
    table; exits 1 on any difference.
    """
    from codex_release.checks.verify_index import verify_index

    version = version_or_pin(codex_version)  # read-only: an earlier release may be checked too
    report = verify_index(version, dist_dir, index_url=index_url)
    click.echo(report.table("verify-index"))
    if not report.ok:
        raise click.ClickException(f"the index does not serve release {version} as built: see the FAIL rows above")


COMMANDS: list[click.Command] = [verify_index_command]
