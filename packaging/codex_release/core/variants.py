"""Which runtime wheels one target gives: the full one, and a lean one where an optional helper narrows it.

Every file of a wheel must honour every tag of the wheel (:mod:`codex_release.core.platform_tags`), so one file
that needs more than the ``codex`` binary itself narrows the whole wheel. The real aarch64 Linux package is
the case: ``codex`` is static, but ``codex-path/rg`` is a dynamic glibc executable needing GLIBC_2.18, so
the wheel that holds it is ``manylinux_2_18_aarch64`` and Alpine or glibc 2.17 aarch64 get nothing, though
``codex`` starts there.

The files directly in the package's ``pathDir`` (``codex-path/``) are optional helpers: Codex puts that
directory first on ``PATH`` and otherwise uses the system's ``rg``. So the set of wheels is chosen from the
binaries alone (:func:`choose_variants`), never from a list of exceptions:

* ``full``: every file, tagged with what every file earns (:func:`derive_platform_tags`). Always written.
* ``lean``: written only when the pathDir helpers raise the floor, i.e. the tags of everything but those
  helpers differ from the full tags. It leaves out exactly the helpers that raise the floor (one whose
  addition changes the tags of the rest) and carries the wider tags of what remains. A helper outside
  ``pathDir`` (a sandbox helper in ``codex-resources/``) is never left out: Codex needs it, so it simply
  raises the floor of the one wheel.

Installers prefer the most specific tag they support, so a platform that can run the full wheel
(``manylinux_2_18`` on glibc 2.28) picks it over the lean one (``manylinux_2_17``/``musllinux_1_1``), and a
platform that cannot (musl, glibc 2.17) still gets the lean one. ``verify`` and the resolver grid check
exactly that from the wheels' own binaries.

Each staged tree says which variant it is and what it lacks in :data:`HELPERS_FILE`
(``codex_cli_bin/bundled-helpers.json``), which ``codex_cli_bin.bundled_helpers()`` and
``omitted_helpers()`` read at run time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from codex_release.binaries import BinaryInfo
from codex_release.core.platform_tags import derive_platform_tags
from codex_release.core.targets import Target
from codex_release.errors import InputRefused, ReleaseError

__all__ = [
    "HELPERS_FILE",
    "Variant",
    "VariantFacts",
    "VariantName",
    "choose_variants",
    "helpers_document",
    "is_path_helper",
    "variant_faults",
]

VariantName = Literal["full", "lean"]
HELPERS_FILE = "bundled-helpers.json"
"""Written by staging into ``codex_cli_bin/`` (beside ``__init__.py``) of every runtime wheel."""


@dataclass(frozen=True)
class Variant:
    """One wheel of a target: its name, its platform tags, and the helpers it leaves out (with why)."""

    name: VariantName
    tags: tuple[str, ...]
    omitted: dict[str, str] = field(default_factory=dict)
    """pathDir-relative file (``codex-path/rg``) -> why it is left out."""

    @property
    def platform_tag(self) -> str:
        return ".".join(self.tags)


def is_path_helper(name: str, path_dir: str) -> bool:
    """Whether ``name`` (a path relative to the package root, e.g. ``codex-path/rg``) lies directly in ``path_dir``."""
    return PurePosixPath(name).parent == PurePosixPath(path_dir)


def _tags_or_none(infos: Sequence[BinaryInfo], target: Target) -> tuple[str, ...] | None:
    try:
        return derive_platform_tags(infos, target)
    except InputRefused:
        return None


def choose_variants(
    binaries: Sequence[BinaryInfo], target: Target, *, path_dir: str, root: str = ""
) -> tuple[Variant, ...]:
    """The wheels ``binaries`` (named relative to ``root``) give on ``target``: ``(full,)`` or ``(full, lean)``.

    ``path_dir`` is the package's ``pathDir`` (``codex-path``); ``root`` a prefix of every name to strip
    first (``codex_cli_bin/vendor/`` when the names are wheel members). A full set whose tags cannot be
    derived is the :class:`ReleaseError` of :func:`derive_platform_tags`.
    """
    full = derive_platform_tags(binaries, target)

    def relative(info: BinaryInfo) -> str:
        return info.name.removeprefix(root)

    helpers = [info for info in binaries if is_path_helper(relative(info), path_dir)]
    core = [info for info in binaries if not is_path_helper(relative(info), path_dir)]
    if not helpers or not core:
        return (Variant("full", full),)
    base = _tags_or_none(core, target)
    if base is None or base == full:
        return (Variant("full", full),)
    raising = [info for info in helpers if _tags_or_none([*core, info], target) != base]
    kept = [info for info in helpers if info not in raising]
    lean = _tags_or_none([*core, *kept], target)
    if lean != base:  # the kept helpers narrow the rest together (musl + glibc): leave every helper out
        raising, lean = helpers, base
    omitted = {relative(info): _reason(info, full, base) for info in raising}
    return (Variant("full", full), Variant("lean", base, omitted))


def _reason(info: BinaryInfo, full: tuple[str, ...], lean: tuple[str, ...]) -> str:
    name = PurePosixPath(info.name).name
    return (
        f"{info.describe()}: a wheel holding it can only be tagged {'.'.join(full)}, so this wheel "
        f"({'.'.join(lean)}) leaves it out and Codex uses the {name} found on PATH"
    )


def helpers_document(variant: Variant, bundled: Sequence[str]) -> str:
    """The text of :data:`HELPERS_FILE` for a staged tree of ``variant`` holding the pathDir files ``bundled``."""
    document = {
        "variant": variant.name,
        "platformTag": variant.platform_tag,
        "bundled": sorted(bundled),
        "omitted": {name: variant.omitted[name] for name in sorted(variant.omitted)},
    }
    return json.dumps(document, indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# Judging a target's wheels (verify)
# --------------------------------------------------------------------------------------------

WHEEL_VENDOR = "codex_cli_bin/vendor/"
"""Where the platform package lies inside a runtime wheel (binary names carry this prefix)."""


@dataclass(frozen=True)
class VariantFacts:
    """What ``verify`` read from one runtime wheel, as far as choosing variants goes."""

    file: str
    tags: frozenset[str]
    binaries: tuple[BinaryInfo, ...]
    """Named as wheel members (``codex_cli_bin/vendor/codex-path/rg``)."""
    path_dir: str
    helpers: dict[str, object] | None
    """The parsed :data:`HELPERS_FILE`, ``None`` when the wheel has none."""


def _names(facts: VariantFacts) -> set[str]:
    return {info.name.removeprefix(WHEEL_VENDOR) for info in facts.binaries}


def _helpers_fault(facts: VariantFacts, variant: Variant) -> str | None:
    if facts.helpers is None:
        return None
    said, omitted = facts.helpers.get("variant"), facts.helpers.get("omitted")
    if said != variant.name or not isinstance(omitted, dict) or set(omitted) != set(variant.omitted):
        shown = ", ".join(sorted(variant.omitted)) or "nothing"
        return (
            f"{facts.file}: codex_cli_bin/{HELPERS_FILE} says variant {said!r} omitting "
            f"{sorted(omitted) if isinstance(omitted, dict) else omitted!r}, but the wheel is the {variant.name} "
            f"variant omitting {shown}: rebuild it with stage-runtime --wheel-dir"
        )
    return None


def variant_faults(target: Target, wheels: Sequence[VariantFacts]) -> list[str]:
    """Faults of one target's set of wheels: exactly the variants its binaries call for (full, and lean
    where an optional helper narrows the tags), the lean one holding everything but the omitted helpers.

    The full wheel is the one with the most binaries; what the set must be is :func:`choose_variants` of
    its binaries. Each wheel's own tags are judged elsewhere (``verify``); here only the set.
    """
    if not wheels:
        return []
    ordered = sorted(wheels, key=lambda facts: (-len(facts.binaries), facts.file))
    full = ordered[0]
    try:
        expected = choose_variants(full.binaries, target, path_dir=full.path_dir, root=WHEEL_VENDOR)
    except ReleaseError:
        return []  # the full wheel's tags cannot be derived: already a fault of that wheel
    rebuild = "rebuild the target with `codex-release stage-runtime --wheel-dir`"
    faults = [fault for fault in (_helpers_fault(full, expected[0]),) if fault]
    if len(ordered) > len(expected):
        why = (
            "its binaries give one wheel (no optional helper narrows the tags)"
            if len(expected) == 1
            else "a target gives a full and at most one lean wheel"
        )
        names = " and ".join(facts.file for facts in ordered)
        stray = ", ".join(facts.file for facts in ordered[len(expected) :])
        faults.append(
            f"{len(ordered)} runtime wheels for {target.triple} ({names}), but {why}: delete {stray} or {rebuild}"
        )
        return faults
    if len(expected) == 1:
        return faults
    lean_variant = expected[1]
    omitted = ", ".join(sorted(lean_variant.omitted))
    if len(ordered) == 1:
        faults.append(
            f"no lean runtime wheel for {target.triple}: {full.file} holds {omitted}, which narrows its tags to "
            f"{expected[0].platform_tag}; the lean wheel without it ({lean_variant.platform_tag}) serves the "
            f"platforms where only codex starts: {rebuild}"
        )
        return faults
    lean = ordered[1]
    wanted = _names(full) - set(lean_variant.omitted)
    if _names(lean) != wanted:
        still = sorted(_names(lean) & set(lean_variant.omitted))
        other = sorted(_names(lean) ^ wanted)
        what = f"still holds {', '.join(still)}" if still else f"differs from it in {', '.join(other)}"
        faults.append(
            f"{lean.file} is not the lean variant of {full.file}: it should hold everything but {omitted} and {what}; "
            f"{rebuild}"
        )
    elif lean.tags != frozenset(lean_variant.tags):
        faults.append(
            f"{lean.file} is the lean variant of {full.file} but is tagged {'.'.join(sorted(lean.tags))}, not "
            f"{lean_variant.platform_tag}: {rebuild}"
        )
    if (fault := _helpers_fault(lean, lean_variant)) is not None:
        faults.append(fault)
    return faults
