"""Options shared by several commands, and the checkout the group found (:func:`current_checkout`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from codex_release.core.locations import CHECKOUT_ENV, Checkout, find_checkout
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import InputRefused, ReleaseError

if TYPE_CHECKING:
    from codex_release.checks.publisher_twine import Publisher

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FoundCheckout:
    """What the group found (``ctx.obj``): the checkout, or why there is none (raised by the first command
    that needs one, so ``matrix`` and ``--help`` work anywhere)."""

    checkout: Checkout | None
    refusal: ReleaseError | None = None


def locate_checkout(ctx: click.Context, given: Path | None) -> FoundCheckout:
    """Find the checkout once, for the whole run (:func:`codex_release.core.locations.find_checkout`).

    A ``--checkout DIR`` (or ``$CODEX_RELEASE_CHECKOUT``) that is not a checkout is refused at once; when
    none was given and none is found, the refusal waits for a command that needs a checkout.
    """
    if given is not None:
        from_env = ctx.get_parameter_source("checkout") is click.core.ParameterSource.ENVIRONMENT
        return FoundCheckout(find_checkout(given, given_as=CHECKOUT_ENV if from_env else "--checkout"))
    try:
        return FoundCheckout(find_checkout())
    except ReleaseError as exc:
        return FoundCheckout(None, exc)


def current_checkout() -> Checkout:
    """The checkout of this run, as the ``codex-release`` group found it."""
    found = click.get_current_context().find_object(FoundCheckout)
    if found is None:
        raise RuntimeError("a codex-release command ran outside the codex-release group (which finds the checkout)")
    if found.checkout is None:
        assert found.refusal is not None
        raise found.refusal
    return found.checkout


def _to_codex_version(ctx: click.Context, param: click.Parameter, value: str | None) -> CodexVersion | None:
    """Parse the value; a bad one is a :class:`ReleaseError` (one line, exit 1, via the CLI's boundary)."""
    if value is None:
        return None
    try:
        return parse_codex_version(value)
    except InputRefused as exc:
        raise InputRefused(f"--codex-version: {exc}") from None


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
    """The pinned version; a given one must be it (:func:`codex_release.core.pins.require_pinned`).

    What every command that builds, checks or publishes a release calls: a release of any version but
    the pin is refused here, in one line, before anything is fetched, built or written.
    """
    from codex_release.core.pins import require_pinned

    return require_pinned(version, current_checkout().sdk_pyproject, given_as=given_as, shown="sdk/pyproject.toml")


def version_or_pin(version: CodexVersion | None) -> CodexVersion:
    """The given version, whatever it is, or the pinned one.

    Only for commands that never make or publish a release of their own, and are legitimately used for
    other versions: ``fetch-runtime`` (``bump`` and tests fetch other runtimes), ``verify-index`` and
    ``wait-for-index`` (they only read what the index already serves, e.g. for an earlier release).
    """
    if version is not None:
        return version
    from codex_release.core.pins import pinned_runtime_version

    return pinned_runtime_version(current_checkout().sdk_pyproject)


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


def publisher_lock_option(func: F) -> F:
    """``--publisher-lock FILE``: rehearse with another publisher's twine than the pinned action's."""
    return click.option(
        "--publisher-lock",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Judge (and upload) with the twine of this hash-locked requirements file instead of the one the "
        "pinned publish action bundles (requirements/publish-action.txt), e.g. to try an action bump before "
        "making it. Installed the same way (pip --require-hashes --no-deps: the whole closure, hashed, as "
        "`uv pip compile --generate-hashes` writes it) into a cached venv; its twine and packaging versions "
        "are printed.",
    )(func)


def resolve_publisher(lock: Path | None) -> Publisher:
    """The twine that judges the dists: ``lock``'s, or the pinned publish action's bundle from this checkout.

    The lock's path comes from the run's checkout (:func:`current_checkout`): the library never looks for it.
    """
    from codex_release.checks.publisher_twine import pinned_publisher, publisher_from_lock

    if lock is not None:
        return publisher_from_lock(lock)
    return pinned_publisher(current_checkout().publisher_lock)
