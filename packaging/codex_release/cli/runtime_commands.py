"""Runtime-wheel commands: matrix, fetch-runtime, stage-runtime, verify."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from codex_release.cli.options import (
    codex_version_option,
    current_checkout,
    publisher_lock_option,
    resolve_publisher,
    resolve_version,
    version_or_pin,
)
from codex_release.core.targets import TARGETS, get_target
from codex_release.core.versions import CodexVersion

TARGET_CHOICE = click.Choice([t.triple for t in TARGETS])
"""A ``--target`` value: a Rust target triple of the target table."""
F = TypeVar("F", bound=Callable[..., Any])


def matrix_json() -> str:
    """The target table as a GitHub Actions matrix: ``{"include": [...]}`` (``matrix --json``, ``plan``)."""
    return json.dumps({"include": [t.as_json() for t in TARGETS]}, sort_keys=True)


@click.command("matrix")
@click.option("--json", "as_json", is_flag=True, help="Print {'include': [...]} JSON for a GitHub Actions matrix.")
def matrix_command(as_json: bool) -> None:
    """Print the release target table: Rust target, npm package, wheel tags, native runner.

    This table is the only list of targets: the release workflow builds its matrix from
    `matrix --json` (one entry per target; a target with a lean variant lists both wheels under
    "wheels", and its one job writes both).
    """
    if as_json:
        click.echo(matrix_json())
        return
    rows = [("target", "npm package", "wheel platform tags (variant)", "runner")]
    for t in TARGETS:
        for index, (variant, tags) in enumerate(t.expected_wheels):
            shown = ".".join(tags) + ("" if len(t.expected_wheels) == 1 else f" ({variant})")
            rows.append((t.triple, t.npm_suffix, shown, t.runner) if index == 0 else ("", "", shown, ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))


@click.command("fetch-runtime")
@codex_version_option(required=False)
@click.option("--target", "targets", multiple=True, type=TARGET_CHOICE, help="Rust target to fetch (repeatable).")
@click.option("--all", "all_targets", is_flag=True, help="Fetch every target of the release.")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory that receives one codex-<version>-<target>.tgz per target.",
)
@click.option(
    "--source",
    type=click.Choice(["npm", "github"]),
    default="npm",
    show_default=True,
    help="npm platform packages (integrity from the registry) or GitHub release assets (SHA256SUMS).",
)
@click.option("--base-url", metavar="URL", help="GitHub releases download base URL (for mirrors and tests).")
def fetch_runtime_command(
    codex_version: CodexVersion | None,
    targets: tuple[str, ...],
    all_targets: bool,
    dest: Path,
    source: str,
    base_url: str | None,
) -> None:
    """Fetch the Codex platform packages of a release, verified and cached.

    Each tarball is checked against the published hash (npm integrity or SHA256SUMS) and cached by hash
    in the user cache directory (CODEX_RELEASE_CACHE overrides it), so later runs download nothing.
    """
    from codex_release.steps.fetch import fetch_runtime

    if bool(targets) == all_targets:
        raise click.UsageError("pass --all or at least one --target")
    version = version_or_pin(codex_version)  # any release: bump and tests fetch runtimes other than the pin
    chosen = TARGETS if all_targets else tuple(get_target(t) for t in targets)
    placed = fetch_runtime(
        version,
        chosen,
        dest,
        checkout=current_checkout().root,
        source=source,  # type: ignore[arg-type]
        base_url=base_url,
    )
    for target, path in placed.items():
        click.echo(f"{target.triple}\t{path}")


@click.command("stage-runtime")
@click.argument("staging_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("source", type=click.Path(path_type=Path))
@codex_version_option()
@click.option("--target", type=TARGET_CHOICE, help="Rust target; must agree with codex-package.json when present.")
@click.option(
    "--platform-tag", metavar="TAG", help="Wheel platform tag to use; refused if the binaries cannot honour it."
)
@click.option("--wheel-dir", type=click.Path(file_okay=False, path_type=Path), help="Also write the wheel here.")
@click.option("--include-voice", is_flag=True, help="Keep codex-resources/voice/ (raises the platform floor).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty STAGING_DIR.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def stage_runtime_command(
    staging_dir: Path,
    source: Path,
    codex_version: CodexVersion,
    target: str | None,
    platform_tag: str | None,
    wheel_dir: Path | None,
    include_voice: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Stage SOURCE as the openai-codex-cli-bin project in STAGING_DIR.

    SOURCE is a codex binary, a Codex platform package directory (codex-package.json, bin/,
    codex-path/, codex-resources/) or a .tar.gz/.tgz of one (e.g. the npm platform package).
    The wheel's platform tag is derived from the binaries themselves. Build the result with
    `python -m build --wheel STAGING_DIR`, or pass --wheel-dir to write the (byte-reproducible) wheel
    directly. Where an optional codex-path/ helper needs more than codex itself (aarch64 Linux: rg
    needs glibc 2.18), --wheel-dir also receives a lean wheel without it, tagged wider; STAGING_DIR
    stays the full variant.
    """
    from codex_release.steps.stage_runtime import stage_runtime

    checkout = current_checkout()
    staged = stage_runtime(
        staging_dir,
        source,
        codex_version,
        template=checkout.runtime_template,
        checkout=checkout.root,
        target=target,
        platform_tag=platform_tag,
        include_voice=include_voice,
        overwrite=overwrite,
        wheel_dir=wheel_dir,
        progress=False if quiet else None,
    )
    click.echo(f"staged {staged.target.triple} {staged.version} as py3-none-{staged.platform_tag} in {staging_dir}")
    for variant, wheel in zip(staged.variants, staged.wheels, strict=False):
        omitted = f", without {', '.join(variant.omitted)}" if variant.omitted else ""
        click.echo(f"wrote {wheel} ({variant.name}{omitted})")


def size_limit_options(func: F) -> F:
    """``--max-file-size`` and ``--max-total-size``: the index's upload limits verify checks sizes against."""
    func = click.option(
        "--max-total-size",
        metavar="SIZE",
        default=None,
        help="The project's total size limit on the index: 'default' (10 GiB), 'project' (INDEX_TOTAL_LIMIT in "
        "codex_release.checks.index_limits) or a size. Default: $CODEX_RELEASE_MAX_TOTAL_SIZE, else 'default'.",
    )(func)
    return click.option(
        "--max-file-size",
        metavar="SIZE",
        default=None,
        help="The index's per-file upload limit: 'default' (100 MiB, the index's own), 'project' (the raised "
        "limit INDEX_FILE_LIMIT in codex_release.checks.index_limits) or a size such as 300MiB. A larger file is a "
        "fault. Default: $CODEX_RELEASE_MAX_FILE_SIZE, else 'default'.",
    )(func)


@click.command("verify")
@click.argument("dist_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@codex_version_option(required=False)
@click.option("--require-sdk/--no-require-sdk", default=False, help="Also require the SDK wheel and sdist.")
@size_limit_options
@click.option(
    "--write-checksums",
    is_flag=True,
    help="After OK, write SHA256SUMS and manifest.json (file, size, sha256, tags, target) into DIST_DIR.",
)
@click.option(
    "--summary",
    "summary_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append the release as Markdown (file, kind, target, size, sha256, and SHA256SUMS) to FILE, e.g. "
    '"$GITHUB_STEP_SUMMARY"; also when verify fails.',
)
@publisher_lock_option
def verify_command(
    dist_dir: Path,
    codex_version: CodexVersion | None,
    require_sdk: bool,
    max_file_size: str | None,
    max_total_size: str | None,
    write_checksums: bool,
    summary_file: Path | None,
    publisher_lock: Path | None,
) -> None:
    """Check that DIST_DIR holds exactly the release's artifacts, each sound.

    Per target the wheels its binaries call for (full, plus lean where an optional codex-path/ helper
    narrows the tags), each with tags matching its binaries, Root-Is-Purelib false, RECORD hashes that
    match, exec bits on executables, an SBOM (PEP 770) that lists every bundled file with its sha256, no
    runtime sdist; the SDK (when present or required) at the same version with the exact runtime pin and
    types generated from that runtime; V is the pinned runtime (any other is refused);
    `twine check --strict` clean with the twine the pinned publish action bundles (its hash lock
    requirements/publish-action.txt, installed once into the user cache; --publisher-lock for another), so
    a publisher that cannot read our metadata fails here; every file within the index's per-file upload
    limit and the release within the project's total.
    """
    from codex_release.checks.index_limits import SizeLimits
    from codex_release.checks.verify import verify_dist

    version = resolve_version(codex_version)
    limits = SizeLimits.resolve(max_file_size, max_total_size)
    publisher = resolve_publisher(publisher_lock)
    report = verify_dist(dist_dir, version, require_sdk=require_sdk, limits=limits, publisher=publisher)
    click.echo(report.table())
    sums = None
    if report.ok and write_checksums:
        from codex_release.checks.release_record import write_release_record
        from codex_release.core.record import SUMS_FILE

        sums = write_release_record(dist_dir, report, checkout=current_checkout().root)[SUMS_FILE]
        click.echo(f"wrote SHA256SUMS and manifest.json into {dist_dir}")
    if summary_file is not None:
        from codex_release.checks.release_record import append_summary, summary_markdown

        append_summary(summary_file, summary_markdown(report, version, dist_dir, sums))
    if not report.ok:
        click.echo(f"Error: {report.fault_count} fault(s) in {dist_dir}", err=True)
        sys.exit(1)


COMMANDS: list[click.Command] = [matrix_command, fetch_runtime_command, stage_runtime_command, verify_command]
