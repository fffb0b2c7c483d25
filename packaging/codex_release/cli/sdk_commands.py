"""Commands of this group (registered by codex_release.cli): the SDK's types, staging, and the fake model."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from codex_release.cli.options import codex_version_option, current_checkout, resolve_version, version_or_pin
from codex_release.core.versions import CodexVersion

_EXISTING_FILE = click.Path(exists=False, dir_okay=False, path_type=Path)
_DIRECTORY = click.Path(file_okay=True, dir_okay=True, path_type=Path)


@click.command("generate-types")
@click.option(
    "--codex-bin",
    type=_EXISTING_FILE,
    metavar="PATH",
    help="The codex binary whose schema to use. Default: the pinned runtime for this host, fetched and cached.",
)
@codex_version_option(required=False)
@click.option(
    "--out",
    "out_dir",
    type=_DIRECTORY,
    metavar="DIR",
    help="Output package directory. Default: sdk/src/openai_codex/generated.",
)
@click.option("--check", is_flag=True, help="Write nothing; fail if the files in DIR differ from a fresh generation.")
def generate_types_command(
    codex_bin: Path | None, codex_version: CodexVersion | None, out_dir: Path | None, check: bool
) -> None:
    """Generate the SDK's pydantic models and method registries from the runtime's JSON Schema.

    Runs `codex app-server generate-json-schema`, then datamodel-code-generator; the output is
    deterministic to the byte and replaces DIR atomically.
    """
    from codex_release.steps.generate_types import generate_types

    checkout = current_checkout()
    result = generate_types(
        codex_bin=codex_bin,
        codex_version=codex_version if codex_bin is not None else version_or_pin(codex_version),
        out_dir=out_dir or checkout.generated,
        checkout=checkout.root,
        check=check,
    )
    if check:
        click.echo(f"{result.out_dir} is up to date with Codex {result.codex_version}")
    elif result.changed:
        click.echo(f"Generated types from Codex {result.codex_version} into {result.out_dir}")
    else:
        click.echo(f"{result.out_dir} was already up to date with Codex {result.codex_version}")


@click.command("stage-sdk")
@click.argument("staging_dir", type=_DIRECTORY, metavar="STAGING_DIR")
@codex_version_option(required=True)
@click.option(
    "--sdk-version",
    metavar="VERSION",
    help="Version of the staged openai-codex. Default (and the only accepted value): the Codex version.",
)
@click.option(
    "--dist-dir",
    type=_DIRECTORY,
    metavar="OUT",
    help="Also build the wheel and sdist into OUT and check them with `twine check --strict`.",
)
@click.option("--overwrite", is_flag=True, help="Replace a non-empty STAGING_DIR.")
def stage_sdk_command(
    staging_dir: Path, codex_version: CodexVersion, sdk_version: str | None, dist_dir: Path | None, overwrite: bool
) -> None:
    """Copy sdk/ into STAGING_DIR with its version and runtime pin set to one Codex release.

    The release must be the pinned runtime, and the generated types must come from it (`bump` moves
    both). The source tree is never modified. With --dist-dir, build and check the distributions too.
    """
    from codex_release.steps.stage_sdk import stage_sdk

    result = stage_sdk(
        staging_dir,
        codex_version=resolve_version(codex_version),
        source=current_checkout().sdk,
        sdk_version=sdk_version,
        dist_dir=dist_dir,
        overwrite=overwrite,
    )
    click.echo(
        f"Staged openai-codex {result.sdk_version} (openai-codex-cli-bin=={result.runtime_pin}) in {result.staging_dir}"
    )
    for artifact in result.artifacts:
        click.echo(f"Built {artifact}")


@click.command("fake-model-server")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--text", default="Hello from the fake model.", show_default=True, help="The reply to every request.")
@click.option("--deltas", type=click.IntRange(1), default=3, show_default=True, help="Stream the reply in N deltas.")
def fake_model_server_command(port: int, text: str, deltas: int) -> None:
    """Serve a fake Responses-API model on 127.0.0.1 until interrupted (for manual testing).

    Prints the base URL and the `-c` overrides that point `codex` at it.
    """
    from codex_release.checks.fake_responses import FakeResponsesServer, Text

    stop = threading.Event()
    with FakeResponsesServer(default_reply=Text(text, deltas=deltas), port=port) as server:
        click.echo(server.base_url)
        click.echo(" ".join(f"-c '{override}'" for override in server.config_overrides()))
        click.echo("Serving; press Ctrl-C to stop.", err=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            click.echo(f"Served {len(server.model_requests)} model request(s).", err=True)


COMMANDS: list[click.Command] = [generate_types_command, stage_sdk_command, fake_model_server_command]
