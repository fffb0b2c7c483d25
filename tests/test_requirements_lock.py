"""The hash-locked requirements files (``make lock``) are whole, hashed and not stale against pyproject.toml.

Stale means: a dependency of ``pyproject.toml`` that the lock lacks or pins outside its specifier, or a
package the lock holds only because the project once asked for it. Re-resolving is not how staleness is
judged: a new upstream release would then fail the suite without any change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomlkit
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PROJECT = "codex-release (pyproject.toml)"
LOCKS = {"release.txt": (), "dev.txt": ("dev",)}


@dataclass(frozen=True)
class Locked:
    requirement: Requirement
    hashes: tuple[str, ...]
    via: tuple[str, ...]

    @property
    def version(self) -> str:
        return next(iter(self.requirement.specifier)).version


def parse_lock(text: str) -> Iterator[Locked]:
    """Entries of a ``uv pip compile --generate-hashes`` file: the pin, its hashes and who needs it."""
    for block in re.split(r"\n(?=\S)", text):
        if block.startswith("#") or not block.strip():
            continue
        head, *rest = block.split("\n")
        hashes = tuple(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
        comments = [line.strip().lstrip("#").strip() for line in rest if line.strip().startswith("#")]
        via = tuple(c for c in (c.removeprefix("via").strip() for c in comments) if c)
        yield Locked(Requirement(head.rstrip(" \\")), hashes, via)


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomlkit.parse((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [str(line) for line in project["dependencies"]]  # type: ignore[index,union-attr]
    for extra in extras:
        lines += [str(line) for line in project["optional-dependencies"][extra]]  # type: ignore[index,union-attr]
    return [Requirement(line) for line in lines]


def problems(lock_text: str, wanted: list[Requirement]) -> list[str]:
    """Why a lock does not serve ``wanted`` (empty when it does)."""
    found: list[str] = []
    by_name: dict[str, list[Locked]] = {}
    entries = list(parse_lock(lock_text))
    if "#    make lock\n" not in lock_text or not entries:
        found.append("not written by `make lock`")
    for entry in entries:
        if [s.operator for s in entry.requirement.specifier] != ["=="]:
            found.append(f"{entry.requirement} is not one exact pin")
        if not entry.hashes:
            found.append(f"{entry.requirement} has no hash")
        if not entry.via:
            found.append(f"{entry.requirement} says nothing of who needs it")
        by_name.setdefault(canonicalize_name(entry.requirement.name), []).append(entry)
    direct = {canonicalize_name(r.name): r for r in wanted}
    for key, requirement in direct.items():
        if key not in by_name:
            found.append(f"{requirement} is not locked")
        found += [
            f"{entry.requirement.name}=={entry.version} is outside {requirement}"
            for entry in by_name.get(key, [])
            if not requirement.specifier.contains(entry.version, prereleases=True)
        ]
    for key, entries_of_name in by_name.items():
        if {v for entry in entries_of_name for v in entry.via} == {PROJECT} and key not in direct:
            found.append(f"{key} is locked only for the project, which no longer asks for it")
    return found


@pytest.mark.parametrize(("name", "extras"), LOCKS.items())
def test_the_lock_is_hashed_and_matches_pyproject(name: str, extras: tuple[str, ...]) -> None:
    text = (REPO / "requirements" / name).read_text(encoding="utf-8")
    assert problems(text, declared(extras)) == [], f"requirements/{name} is stale: run `make lock`"


def test_a_stale_lock_is_caught() -> None:
    text = (REPO / "requirements" / "release.txt").read_text(encoding="utf-8")
    wanted = declared(())
    click = next(e for e in parse_lock(text) if e.requirement.name == "click")
    added = [*wanted, Requirement("never-locked-example>=3")]
    assert problems(text, added) == ["never-locked-example>=3 is not locked"]
    moved = [r if r.name != "click" else Requirement(f"click>{click.version}") for r in wanted]
    assert problems(text, moved) == [f"click=={click.version} is outside click>{click.version}"]
    dropped = [r for r in wanted if r.name != "tqdm"]
    assert problems(text, dropped) == ["tqdm is locked only for the project, which no longer asks for it"]
    tqdm = next(e for e in parse_lock(text) if e.requirement.name == "tqdm")
    unhashed = re.sub(r"(?m)^tqdm==(\S+) \\\n(    --hash=\S+( \\)?\n)+", r"tqdm==\1\n", text)
    assert problems(unhashed, wanted) == [f"tqdm=={tqdm.version} has no hash"]
