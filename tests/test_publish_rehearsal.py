"""Publishing order and the rehearsal against a real package index (pypiserver) on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_release.checks.publish_rehearsal import (
    LocalIndex,
    plan_uploads,
    port_is_open,
    publish_in_order,
)
from codex_release.checks.resolution import wait_for_index
from codex_release.checks.smoke import SmokeReport
from codex_release.cli import main
from codex_release.core.targets import TARGETS
from codex_release.core.versions import CodexVersion
from codex_release.errors import FaultFound, ReleaseError


@pytest.fixture
def index() -> Iterator[LocalIndex]:
    with LocalIndex() as server:
        yield server


# ---------------------------------------------------------------------------------------- the plan
def test_the_plan_is_every_runtime_wheel_then_the_sdk(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    plan = plan_uploads(synthetic_dist, pinned_version)
    assert len(plan.runtime) == len(TARGETS) + 1  # aarch64 Linux: full and lean
    assert sum("aarch64" in p.name and "linux" in p.name for p in plan.runtime) == 2
    assert all(p.name.startswith(f"openai_codex_cli_bin-{pinned_version}-py3-none-") for p in plan.runtime)
    assert [p.name for p in plan.sdk] == [
        f"openai_codex-{pinned_version}-py3-none-any.whl",
        f"openai_codex-{pinned_version}.tar.gz",
    ]


def test_a_runtime_sdist_is_refused_before_anything_starts(dist_copy: Path, pinned_version: CodexVersion) -> None:
    (dist_copy / f"openai_codex_cli_bin-{pinned_version}.tar.gz").write_bytes(b"")
    result = CliRunner().invoke(main, ["publish-rehearsal", str(dist_copy), "--codex-version", pinned_version.pep440])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: openai_codex_cli_bin-{pinned_version}.tar.gz: the runtime is published as platform wheels only, "
        "never as an sdist: delete it"
    ]


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("*win_amd64.whl", "lacks the runtime wheel of x86_64-pc-windows-msvc"),
        ("openai_codex-*.tar.gz", "no SDK sdist"),
        ("openai_codex-*.whl", "no SDK wheel"),
    ],
)
def test_an_incomplete_release_is_never_published(
    dist_copy: Path, pinned_version: CodexVersion, remove: str, message: str
) -> None:
    next(dist_copy.glob(remove)).unlink()
    with pytest.raises(FaultFound, match=message):
        plan_uploads(dist_copy, pinned_version)


def test_stage_publish_writes_the_two_batches(
    synthetic_dist: Path, pinned_version: CodexVersion, tmp_path: Path
) -> None:
    out = tmp_path / "publish"
    result = CliRunner().invoke(
        main, ["stage-publish", str(synthetic_dist), "--codex-version", pinned_version.tag, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("1. runtime: openai_codex_cli_bin-")
    assert sorted(p.name for p in (out / "runtime").iterdir()) == sorted(
        p.name for p in synthetic_dist.glob("openai_codex_cli_bin-*.whl")
    )
    assert sorted(p.name for p in (out / "sdk").iterdir()) == sorted(
        p.name for p in synthetic_dist.glob("openai_codex-*")
    )
    again = CliRunner().invoke(
        main, ["stage-publish", str(synthetic_dist), "--codex-version", pinned_version.tag, "--out", str(out)]
    )
    assert again.exit_code == 1
    assert "is not empty" in again.output


# ------------------------------------------------------------------------------- against the index
def test_the_index_serves_uploads_and_stops_cleanly(synthetic_dist: Path, pinned_version: CodexVersion) -> None:
    plan = plan_uploads(synthetic_dist, pinned_version)
    with LocalIndex() as server:
        port = server.port
        assert port_is_open(port)
        assert server.listed("openai-codex-cli-bin") == set()
        server.upload(plan.runtime)
        assert server.listed("openai-codex-cli-bin") == {p.name for p in plan.runtime}
    assert not server.running
    assert not port_is_open(port)


def test_the_index_never_falls_back_to_a_public_index(index: LocalIndex) -> None:
    assert index.listed("pip") == set()


def test_runtime_first_then_sdk_once_visible(
    index: LocalIndex, synthetic_dist: Path, pinned_version: CodexVersion
) -> None:
    plan = plan_uploads(synthetic_dist, pinned_version)
    report = SmokeReport()
    seen_before_sdk: list[set[str]] = []

    def visible(version: CodexVersion, url: str, dist: Path) -> object:
        seen_before_sdk.append(index.listed("openai-codex"))
        return wait_for_index(version, index_url=url, dist_dir=dist, timeout_s=30, interval_s=1, echo=lambda _: None)

    assert publish_in_order(index, plan, report, dist_dir=synthetic_dist, wait_visible=visible)
    assert index.uploads == [tuple(p.name for p in plan.runtime), tuple(p.name for p in plan.sdk)]
    assert seen_before_sdk == [set()]
    assert index.listed("openai-codex") == {p.name for p in plan.sdk}
    assert [row.check for row in report.rows] == [
        "upload runtime wheels",
        "runtime visible before the SDK",
        "upload SDK",
    ]
    assert report.ok


def test_the_sdk_is_not_uploaded_when_the_runtime_is_not_visible(
    index: LocalIndex, synthetic_dist: Path, pinned_version: CodexVersion
) -> None:
    plan = plan_uploads(synthetic_dist, pinned_version)
    report = SmokeReport()

    def not_visible(version: CodexVersion, url: str, dist: Path) -> object:
        raise ReleaseError("openai-codex-cli-bin==0.169.0 is not visible for aarch64-pc-windows-msvc after 0 s")

    assert not publish_in_order(index, plan, report, dist_dir=synthetic_dist, wait_visible=not_visible)
    assert index.uploads == [tuple(p.name for p in plan.runtime)]
    assert index.listed("openai-codex") == set()
    assert report.rows[-1].ok is False
    assert report.rows[-1].detail.endswith("the SDK was not uploaded")


def test_wait_for_index_times_out_then_sees_every_target(
    index: LocalIndex, synthetic_dist: Path, pinned_version: CodexVersion
) -> None:
    plan = plan_uploads(synthetic_dist, pinned_version)
    with pytest.raises(FaultFound, match=r"is not visible for .*x86_64-pc-windows-msvc.* after 0 s") as caught:
        wait_for_index(pinned_version, index_url=index.simple_url, timeout_s=0, echo=lambda _: None)
    assert "\n" not in str(caught.value)
    index.upload(plan.runtime)
    command = ["wait-for-index", "--codex-version", pinned_version.tag, "--index-url", index.simple_url]
    result = CliRunner().invoke(main, [*command, "--dist-dir", str(synthetic_dist), "--timeout", "0"])
    assert result.exit_code == 0, result.output
    listed = dict(line.split("\t") for line in result.output.splitlines() if "\t" in line)
    # every wheel, the lean aarch64 one resolved where pip must pick it (musl)
    assert set(listed) == {t.triple for t in TARGETS} | {"aarch64-unknown-linux-musl on musl 1.1 aarch64"}
    assert listed["aarch64-unknown-linux-musl on musl 1.1 aarch64"].endswith(
        "musllinux_1_1_aarch64.manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    )
    assert sorted(listed.values()) == sorted(p.name for p in plan.runtime)
    assert f"openai-codex-cli-bin {pinned_version}: all 7 runtime wheels are visible" in result.output


# ------------------------------------------------------------------------------ the whole rehearsal
@pytest.mark.slow
@pytest.mark.runtime
def test_publish_rehearsal_passes_on_the_pinned_release(pinned_release: Path, pinned_version: CodexVersion) -> None:
    result = CliRunner().invoke(main, ["publish-rehearsal", str(pinned_release), "--codex-version", pinned_version.tag])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    cells = [re.split(r"\s{2,}", line.strip(), maxsplit=3) for line in lines]
    table = [row for row in cells if len(row) == 4 and row[2] in {"ok", "FAIL", "skip"}]
    checks = [row[1] for row in table]
    assert all(row[2] == "ok" for row in table), result.output
    assert checks[:5] == [
        "twine check --strict",
        "pypiserver on loopback",
        "upload runtime wheels",
        "runtime visible before the SDK",
        "upload SDK",
    ]
    assert checks[-1] == "server stopped"
    assert table[0][3] == "twine 7.0.0 (packaging 26.2; pypa/gh-action-pypi-publish v1.14.2)"  # the action's own
    for check in ("sync turn (Codex)", "async turn (AsyncCodex)", f"pip install openai-codex=={pinned_version}"):
        assert check in checks
    (install,) = [line for line in lines if f"pip install openai-codex=={pinned_version}" in line]
    assert "by name from http://127.0.0.1:" in install
    (stopped,) = [line for line in lines if "server stopped" in line]
    port = int(stopped.rsplit(":", 1)[1].split()[0])
    assert not port_is_open(port)
