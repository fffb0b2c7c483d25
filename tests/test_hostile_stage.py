"""Hostile-input rows for ``stage-runtime`` (see ``tests/hostile.py`` for what every row checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import CaseContext, HostileCase, run_case
from tests.synthetic_binaries import write_platform_package

LINUX = "x86_64-unknown-linux-musl"


def _package(ctx: CaseContext) -> Path:
    return write_platform_package(ctx.ws / "pkg", LINUX)


def _stage(ctx: CaseContext, source: Path, *extra: str) -> list[str]:
    return ["stage-runtime", str(ctx.ws / "out" / "staging"), str(source), "--codex-version", "0.169.0", "-q", *extra]


CASES = [
    HostileCase("control: a synthetic package stages", lambda ctx: _stage(ctx, _package(ctx)), None),
    HostileCase("SOURCE does not exist", lambda ctx: _stage(ctx, ctx.ws / "missing.tgz"), "does not exist"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_stage_runtime(case: HostileCase, tmp_path: Path) -> None:
    run_case(case, tmp_path)
