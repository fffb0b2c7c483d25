"""The third-party actions the workflows may use: one row per action, its tag, the commit of that tag.

A ``uses:`` line is a claim about someone else's repository, and GitHub resolves it only when a job
starts: a SHA that is not the tag's commit (or no commit of that repository at all) fails the release
on the day it runs, and no offline linter can see it. So every ``uses:`` of every workflow must be a row
of :data:`ACTIONS` (``tests/test_workflows.py`` and ``tests/workflow_runner.py`` refuse any other), each
row says where its tag -> SHA fact was read and when, and CI's online zizmor (``lint-workflows --online``
with ``GH_TOKEN``) checks the same facts against GitHub itself (impostor commits, tag/SHA mismatches).

Dependabot (``.github/dependabot.yml``) proposes new releases as pull requests that edit the workflows;
such a pull request fails the test until this table gets the new row, checked the same way.

The publish action runs twine inside its own container: the exact twine it bundles (and the
``packaging`` that twine judges metadata with) is recorded here next to its SHA, and
``requirements/publish-action.txt`` locks that bundle for ``verify`` and ``publish-rehearsal``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ACTIONS",
    "PUBLISHER_BUNDLE",
    "PUBLISH_ACTION",
    "PinnedAction",
    "action_row",
    "pin_faults",
    "uses_lines",
]


@dataclass(frozen=True)
class PinnedAction:
    """One action at one release: ``uses: {action}@{sha} # {tag}``."""

    action: str
    tag: str
    sha: str
    checked: str
    """ISO date the tag -> SHA fact was last read from the source."""
    source: str
    """Where that fact was read."""

    @property
    def uses(self) -> str:
        return f"{self.action}@{self.sha}"


_SNAPSHOT = "the tag in a snapshot of the action's repository"

ACTIONS: tuple[PinnedAction, ...] = (
    PinnedAction("actions/checkout", "v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1", "2026-12-04", _SNAPSHOT),
    PinnedAction("actions/setup-python", "v7.0.0", "5fda3b95a4ea91299a34e894583c3862153e4b97", "2026-12-04", _SNAPSHOT),
    PinnedAction(
        "actions/upload-artifact",
        "v7.0.1",
        "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a",
        "2026-12-04",
        "public workflows pinning it with this version comment (the snapshot read ends at v7.0.0)",
    ),
    PinnedAction(
        "actions/download-artifact", "v8.0.1", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "2026-12-04", _SNAPSHOT
    ),
    PinnedAction("actions/attest", "v4.2.2", "1e69f48acb82d1966a394da916b4c1698aa569d6", "2026-12-04", _SNAPSHOT),
    PinnedAction(
        "pypa/gh-action-pypi-publish",
        "v1.14.2",
        "dc37677b2e1c63e2034f94d8a5b11f265b73ba33",
        "2026-12-04",
        "requirements/runtime.txt read at this commit; its release notes (twine 7, Metadata 2.5)",
    ),
)

PUBLISH_ACTION = "pypa/gh-action-pypi-publish"


@dataclass(frozen=True)
class PublisherBundle:
    """What the pinned publish action runs ``twine check`` and ``twine upload`` with."""

    twine: str
    packaging: str
    lock: str
    """The hash-locked copy of that bundle, relative to the checkout."""


PUBLISHER_BUNDLE = PublisherBundle(twine="7.0.0", packaging="26.2", lock="requirements/publish-action.txt")
"""From ``requirements/runtime.txt`` of :data:`PUBLISH_ACTION` at its pinned SHA (twine==7.0.0, packaging==26.2)."""


def action_row(action: str) -> PinnedAction:
    """The table's row for ``action`` (``owner/repo`` or ``owner/repo/path``)."""
    for row in ACTIONS:
        if row.action == action:
            return row
    raise KeyError(action)


_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>\S.*?))?\s*$")


def uses_lines(text: str) -> list[tuple[int, str, str]]:
    """``(line number, uses value, version comment)`` of every ``uses:`` line of one workflow's text."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _USES.match(line)
        if match:
            found.append((number, match["ref"].strip("'\""), (match["comment"] or "").strip()))
    return found


def pin_faults(files: Iterable[Path], table: Iterable[PinnedAction] = ACTIONS) -> list[str]:
    """One line per ``uses:`` of ``files`` that is not a row of ``table``, written ``action@sha # tag``.

    Local actions (``./...``) and ``docker://`` images are faults too: the workflows use neither, and a
    new kind of reference deserves a row (and a way to check it) before it is trusted.
    """
    rows = {row.uses: row for row in table}
    faults = []
    for file in files:
        for number, ref, comment in uses_lines(file.read_text(encoding="utf-8")):
            where = f"{file.name}:{number}"
            row = rows.get(ref)
            if row is None:
                action = ref.split("@", 1)[0]
                known = [r for r in rows.values() if r.action == action]
                hint = f" (the table has {known[0].uses} # {known[0].tag})" if known else ""
                faults.append(
                    f"{where}: {ref} is not in the actions table{hint}: check the tag's commit in {action}'s "
                    "repository, then add or update its row in codex_release/core/workflow_actions.py"
                )
            elif comment != row.tag:
                faults.append(f"{where}: {ref} must carry the comment '# {row.tag}' (its row's tag), not {comment!r}")
    return faults
