"""The main job: ``release`` (fetch, stage, build, verify the whole release into DIST)."""

from __future__ import annotations

from pathlib import Path

import click

from codex_release.cli.options import (
    codex_version_option,
    current_checkout,
    dist_dir_option,
    resolve_publisher,
    resolve_version,
)
from codex_release.cli.runtime_commands import TARGET_CHOICE, size_limit_options
from codex_release.core.targets import TARGETS, get_target
from codex_release.core.versions import CodexVersion


@click.command("release")
@codex_version_option(required=False)
@dist_dir_option(
    "Where the release lands (replaced only when everything verified). Inside the checkout only a "
    "git-ignored directory such as dist/."
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace DIST_DIR even if it holds more than an earlier release wrote (its manifest.json lists it).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    type=TARGET_CHOICE,
    help="Build only these targets (repeatable; default: all). A partial release does not verify.",
)
@click.option("--sdk/--no-sdk", "with_sdk", default=True, show_default=True, help="Build the SDK wheel and sdist.")
@click.option(
    "--smoke/--no-smoke",
    "run_smoke",
    default=True,
    show_default=True,
    help="Install the result into a fresh venv and run a real turn (needs the SDK).",
)
@size_limit_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def release_command(
    codex_version: CodexVersion | None,
    dist_dir: Path,
    overwrite: bool,
    targets: tuple[str, ...],
    with_sdk: bool,
    run_smoke: bool,
    max_file_size: str | None,
    max_total_size: str | None,
    quiet: bool,
) -> None:
    """Build the whole release of one Codex version into DIST_DIR and verify it.

    Fetches the six platform packages (integrity-checked, cached), writes each target's runtime wheels
    with tags derived from their binaries (a second, lean wheel where an optional codex-path/ helper would
    narrow the tags: aarch64 Linux), builds the SDK wheel and sdist pinned to the same version,
    writes SHA256SUMS and manifest.json, then runs verify (sizes against --max-file-size; `make release`
    passes the project's raised limit) and smoke (fresh venv, offline install, one
    real sync and async turn on the bundled binary against a fake model on loopback, resolver dry runs
    for every user platform). DIST_DIR is replaced only on success, and only when it is empty or holds
    an earlier release (else pass --overwrite).
    """
    from codex_release.checks.index_limits import SizeLimits
    from codex_release.steps.release import build_release

    version = resolve_version(codex_version)
    limits = SizeLimits.resolve(max_file_size, max_total_size)
    chosen = tuple(get_target(t) for t in targets) if targets else TARGETS
    result = build_release(
        version,
        dist_dir,
        checkout=current_checkout(),
        targets=chosen,
        with_sdk=with_sdk,
        run_smoke=run_smoke and with_sdk,
        echo=click.echo,
        progress=False if quiet else None,
        overwrite=overwrite,
        limits=limits,
        publisher=resolve_publisher(None),
    )
    click.echo(f"release {version} ({version.tag}): {len(result.files)} files in {dist_dir}")


COMMANDS: list[click.Command] = [release_command]
