"""Hostile-input rows for ``bump`` and ``verify-index`` (see ``tests/hostile.py`` for what every row checks).

``bump`` writes into this checkout's ``sdk/`` when it succeeds, so its only control is the one that finds
nothing to do; the harness checks that ``git status`` of the checkout is unchanged after every row.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from codex_release.core.record import write_checksums
from codex_release.core.targets import TARGETS
from tests import fake_npm
from tests.checkout import pinned_runtime
from tests.hostile import CaseContext, HostileCase, run_case
from tests.test_verify_index import _JsonIndex

PIN = pinned_runtime()


def _complete(version: str) -> list[str]:
    return [version, *(f"{version}-{t.npm_suffix}" for t in TARGETS)]


def _with_npm(versions: list[str], *args: str) -> Callable[[CaseContext], Sequence[str]]:
    def build(ctx: CaseContext) -> Sequence[str]:
        fake_npm.publish_versions(ctx.ws / "registry", versions)
        fake_npm.install(ctx.ws / "bin", ctx.ws / "registry")
        ctx.env["PATH"] = f"{ctx.ws / 'bin'}{os.pathsep}{os.environ['PATH']}"
        return ["bump", *args]

    return build


def _outside_the_registry(ctx: CaseContext) -> list[Path]:
    """Everything but the fake npm's own call log (the command's outputs are the checkout: git status)."""
    return [p for p in ctx.ws.iterdir() if p.name != "registry"]


def _record(ctx: CaseContext, *, tamper: bool = False) -> Path:
    dist = Path(shutil.copytree(ctx.fixture("synthetic_dist"), ctx.ws / "dist"))
    write_checksums(dist, {})
    if tamper:
        sums = dist / "SHA256SUMS"
        sums.write_text(sums.read_text().replace("0", "1", 1))
    return dist


def _served(ctx: CaseContext, dist: Path) -> str:
    """A JSON simple index on loopback serving ``dist`` (stopped when the test process ends)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JsonIndex)
    server.root = dist  # type: ignore[attr-defined]
    server.provenance = {p.name: f"/files/{p.name}.provenance" for p in dist.iterdir()}  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/simple/"


def _verify_index(ctx: CaseContext, dist: Path, url: str) -> list[str]:
    return ["verify-index", "--codex-version", PIN.pep440, "--dist-dir", str(dist), "--index-url", url]


def _tampered_index(ctx: CaseContext) -> list[str]:
    dist = _record(ctx)
    served = Path(shutil.copytree(dist, ctx.ws / "served"))
    wheel = next(served.glob("openai_codex_cli_bin-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    return _verify_index(ctx, dist, _served(ctx, served))


CASES = [
    # bump
    HostileCase(
        "bump control: the latest complete release is the pin", _with_npm(_complete(PIN.semver), "--latest"), None
    ),
    HostileCase(
        "bump --latest older than the pin",
        _with_npm(_complete("0.1.0"), "--latest"),
        "is older than the pinned",
        unchanged=_outside_the_registry,
    ),
    HostileCase(
        "bump to an older release without --allow-downgrade",
        _with_npm([], "--codex-version", "rust-v0.1.0"),
        "pass --allow-downgrade to move the pin back anyway",
        unchanged=_outside_the_registry,
    ),
    HostileCase(
        "bump without a release",
        _with_npm([]),
        "pass either --codex-version V or --latest",
        unchanged=_outside_the_registry,
    ),
    HostileCase(
        "bump with both --latest and a release",
        _with_npm([], "--latest", "--codex-version", PIN.pep440),
        "pass either --codex-version V or --latest",
        unchanged=_outside_the_registry,
    ),
    HostileCase(
        "bump --latest when no release has every platform package",
        _with_npm([PIN.semver, f"{PIN.semver}-linux-x64", "garbage"], "--latest"),
        "no stable @openai/codex release has all",
        unchanged=_outside_the_registry,
    ),
    HostileCase(
        "bump --latest when npm lists no versions",
        _with_npm(["not", "versions"], "--latest"),
        "no stable @openai/codex release has all",
        unchanged=_outside_the_registry,
    ),
    HostileCase(
        "bump to a 5000-digit version",
        _with_npm([], "--codex-version", "1" * 5000 + ".0.0"),
        "5000-digit",
        unchanged=_outside_the_registry,
    ),
    # verify-index
    HostileCase(
        "verify-index control: the index serves the release as built",
        lambda ctx: _verify_index(ctx, d := _record(ctx), _served(ctx, d)),
        None,
    ),
    HostileCase(
        "verify-index a tampered file on the index",
        _tampered_index,
        "the index does not serve release",
    ),
    HostileCase(
        "verify-index without the release record",
        lambda ctx: _verify_index(ctx, ctx.ws, "http://127.0.0.1:9/simple/"),
        "cannot read the release's SHA256SUMS and manifest.json",
    ),
    HostileCase(
        "verify-index with SHA256SUMS and manifest.json that disagree",
        lambda ctx: _verify_index(ctx, _record(ctx, tamper=True), "http://127.0.0.1:9/simple/"),
        "disagree: rebuild the release",
    ),
    HostileCase(
        "verify-index against an index that does not answer",
        lambda ctx: [*_verify_index(ctx, _record(ctx), "http://127.0.0.1:9/simple/"), "--timeout", "0"],
        "cannot reach the index at http://127.0.0.1:9/simple/",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_follow(case: HostileCase, tmp_path: Path, synthetic_dist: Path) -> None:
    run_case(case, tmp_path, {"synthetic_dist": lambda: synthetic_dist})
