"""Where staged trees and release directories may go, and how they replace what was there.

``stage-runtime``, ``stage-sdk`` and ``release`` share one rule set: the destination is never inside the
checkout (staging must not modify the source tree) nor overlapping its inputs, a non-empty destination is
replaced only when asked, and the new content is assembled in a temporary sibling directory that is
swapped in only when everything succeeded, so a failure leaves the destination as it was and nothing
stray beside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from codex_release.errors import ReleaseError

__all__ = ["check_destination", "overlaps", "replace_when_done"]


def overlaps(a: Path, b: Path) -> bool:
    """Whether one of two resolved paths is, or lies inside, the other."""
    return a == b or a in b.parents or b in a.parents


def check_destination(
    dest: Path,
    *,
    label: str,
    repo: Path,
    apart_from: Mapping[str, Path] | None = None,
    overwrite: bool,
) -> Path:
    """Validate ``dest`` (named ``label`` in messages) and return it resolved.

    Refused: inside (or containing) ``repo``, overlapping any path of ``apart_from`` (name -> path), an
    existing file, a non-empty directory unless ``overwrite``.
    """
    resolved = dest.absolute().resolve()
    for name, other in (apart_from or {}).items():
        if overlaps(resolved, other.absolute().resolve()):
            raise ReleaseError(f"{label} {dest} overlaps {name} {other}: choose a separate directory")
    if overlaps(resolved, repo.resolve()):
        raise ReleaseError(
            f"{label} {dest} is inside the repository {repo} (or contains it): stage outside the checkout, "
            "e.g. in a temporary directory"
        )
    if resolved.exists() and not resolved.is_dir():
        raise ReleaseError(f"{label} {dest} is a file: pass a directory")
    if resolved.is_dir() and any(resolved.iterdir()) and not overwrite:
        raise ReleaseError(f"{label} {dest} is not empty: pass --overwrite to replace it or choose another")
    return resolved


@contextmanager
def replace_when_done(dest: Path) -> Iterator[Path]:
    """Yield a fresh empty directory beside ``dest``; on success it becomes ``dest``, on failure it is removed.

    The previous ``dest`` (if any) is moved aside before the swap and deleted after it.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.new-"))
    new = scratch / "new"
    new.mkdir()
    try:
        yield new
        if dest.exists():
            os.replace(dest, scratch / "old")
        os.replace(new, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
