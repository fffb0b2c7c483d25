"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from codex_release.errors import ReleaseError
from codex_release.versions import CodexVersion, parse_codex_version

F = TypeVar("F", bound=Callable[..., Any])


def _to_codex_version(ctx: click.Context, param: click.Parameter, value: str | None) -> CodexVersion | None:
    """Parse the value; a bad one is a :class:`ReleaseError` (one line, exit 1, via the CLI's boundary)."""
    if value is None:
        return None
    try:
        return parse_codex_version(value)
    except ReleaseError as exc:
        raise ReleaseError(f"--codex-version: {exc}") from None


def codex_version_option(*, required: bool = True, help_text: str | None = None) -> Callable[[F], F]:
    """``--codex-version``: a Codex release tag or its PEP 440 version, parsed to :class:`CodexVersion`.

    ``help_text`` replaces the default help (which says what an optional one defaults to).
    """
    if help_text is None:
        help_text = "Codex release, as a tag (rust-v0.169.0, 0.154.0-alpha.1) or PEP 440 version (0.154.0a1)."
        if not required:
            help_text += " Default: the runtime pinned in sdk/pyproject.toml."
    return click.option(
        "--codex-version",
        "codex_version",
        metavar="VERSION",
        required=required,
        callback=_to_codex_version,
        help=help_text,
    )


def resolve_version(version: CodexVersion | None, *, given_as: str | None = None) -> CodexVersion:
    """The pinned version; a given one must be it (:func:`codex_release.pins.require_pinned`).

    What every command that builds, checks or publishes a release calls: a release of any version but
    the pin is refused here, in one line, before anything is fetched, built or written.
    """
    from codex_release.pins import require_pinned

    return require_pinned(version, given_as=given_as)


def version_or_pin(version: CodexVersion | None) -> CodexVersion:
    """The given version, whatever it is, or the pinned one.

    Only for commands that never make or publish a release of their own, and are legitimately used for
    other versions: ``fetch-runtime`` (``bump`` and tests fetch other runtimes), ``verify-index`` and
    ``wait-for-index`` (they only read what the index already serves, e.g. for an earlier release).
    """
    if version is not None:
        return version
    from codex_release.pins import pinned_runtime_version

    return pinned_runtime_version()


def dist_dir_option(help_text: str) -> Callable[[F], F]:
    """``--dist-dir DIR`` (default ``dist``): where a release lands or lies."""
    return click.option(
        "--dist-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("dist"),
        show_default=True,
        help=help_text,
    )


def append_github_output(path: Path, lines: list[str]) -> None:
    """Append ``key=value`` lines to a ``$GITHUB_OUTPUT`` file."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
