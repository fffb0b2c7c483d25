"""Commands of this group (registered by codex_release.cli): checking what the package index serves."""

from __future__ import annotations

from pathlib import Path

import click

from codex_release.cli.options import codex_version_option, dist_dir_option, version_or_pin
from codex_release.core.versions import CodexVersion


@click.command("verify-index")
@codex_version_option(required=False)
@dist_dir_option("The release as built: its SHA256SUMS and manifest.json are the reference.")
@click.option(
    "--index-url",
    metavar="URL",
    help="Simple index to check. Default: the one pip uses (PIP_INDEX_URL, pip config, pip's default).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to keep retrying while the index catches up with the upload (0: one attempt).",
)
def verify_index_command(
    codex_version: CodexVersion | None, dist_dir: Path, index_url: str | None, timeout_s: float
) -> None:
    """Check what the package index serves for a release, after publishing.

    Downloads every file of the version of openai-codex-cli-bin and openai-codex from the index and
    checks the exact set of file names and each file's sha256 against DIST_DIR's SHA256SUMS and
    manifest.json; where the index reports provenance (PEP 740), every file must have it.

    The index and its CDN lag behind an upload by seconds to minutes, so what can be lag (a file not
    listed yet, a 404, a 5xx or 429, a connection error or timeout) is retried with growing waits (about 5 s
    doubling to at most 60 s, with jitter) for up to --timeout seconds, one stderr line per attempt; a
    file already confirmed is not downloaded again. What no wait fixes fails at once: a sha256 that
    differs from the release's, a file the release does not have, missing provenance, an unreadable
    DIST_DIR record. Prints one table, then (after a failure or a retry) how long it waited over how
    many attempts; exits 1 on any difference.
    """
    from codex_release.checks.verify_index import verify_index_patiently

    version = version_or_pin(codex_version)  # read-only: an earlier release may be checked too
    check = verify_index_patiently(
        version, dist_dir, index_url=index_url, timeout_s=timeout_s, echo=lambda line: click.echo(line, err=True)
    )
    click.echo(check.report.table("verify-index"))
    if not check.ok or check.polled.attempts > 1:
        click.echo(check.attempts_line())
    if not check.ok:
        raise click.ClickException(f"the index does not serve release {version} as built: see the FAIL rows above")


COMMANDS: list[click.Command] = [verify_index_command]
