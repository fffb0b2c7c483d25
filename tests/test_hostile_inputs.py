"""Hostile-input rows for inputs, the fetch cache, child processes and the CLI's error boundary
(issue 8 rows 5, 8, 10, 12 and 14; see ``tests/hostile.py`` for what every row checks).

The fetch rows run against a fake ``npm`` first on PATH (``tests/fake_npm.py``) whose registry lives
in the child's private HOME; ``CODEX_RELEASE_CHILD_TIMEOUT`` makes the hung-child row take a second.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import resource
import tarfile
from pathlib import Path

import pytest

from tests import fake_npm
from tests.checkout import pinned_runtime
from tests.hostile import CaseContext, HostileCase, Outcome, run_case
from tests.synthetic_binaries import write_platform_package

LINUX = "x86_64-unknown-linux-musl"
MAC_X64 = "x86_64-apple-darwin"
WIN_X64 = "x86_64-pc-windows-msvc"
SPEC = "@openai/codex@0.169.0-linux-x64"
HUGE = "9" * 5000


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _package(ctx: CaseContext, triple: str = LINUX, *, voice: bool = False, version: str = "0.169.0") -> Path:
    return write_platform_package(ctx.ws / "pkg", triple, voice=voice, version=version)


def _tgz(ctx: CaseContext, package: Path, triple: str = LINUX) -> Path:
    """The package as npm ships it (``package/vendor/<triple>/...``), modes kept."""
    path = ctx.ws / "pkg.tgz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(package, arcname=f"package/vendor/{triple}")
    return path


def _stage(ctx: CaseContext, source: Path, *extra: str) -> list[str]:
    return ["stage-runtime", str(ctx.ws / "staging"), str(source), "--codex-version", "0.169.0", "-q", *extra]


def _without_exec(ctx: CaseContext, *names: str, triple: str = LINUX, voice: bool = False) -> Path:
    package = _package(ctx, triple, voice=voice)
    for name in names:
        (package / name).chmod(0o644)
    return package


def _staged(ctx: CaseContext, outcome: Outcome) -> None:
    assert (ctx.ws / "staging" / "pyproject.toml").is_file(), outcome.stdout


def _staged_with_modes(*expected: tuple[str, int]) -> object:
    def check(ctx: CaseContext, outcome: Outcome) -> None:
        vendor = ctx.ws / "staging" / "src" / "codex_cli_bin" / "vendor"
        for name, mode in expected:
            assert (vendor / name).stat().st_mode & 0o777 == mode, name

    return check


def _voice_library_without_exec(triple: str, library: str) -> HostileCase:
    return HostileCase(
        f"control: a {triple} voice library without exec bits stages (libraries are mapped, not run)",
        lambda ctx: _stage(ctx, _without_exec(ctx, library, triple=triple, voice=True), "--include-voice"),
        None,
        check=_staged_with_modes((library, 0o644)),  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# Fetch (fake npm in the child's HOME, cache in the child's CODEX_RELEASE_CACHE)
# --------------------------------------------------------------------------------------------


def _published(ctx: CaseContext, padding: int = 0) -> Path:
    package = _package(ctx)
    if padding:
        (package / "codex-resources" / "padding.bin").write_bytes(os.urandom(padding))
    tgz = _tgz(ctx, package)
    registry = ctx.ws / "home" / "registry"
    fake_npm.install(ctx.ws / "home" / "bin", registry)
    fake_npm.publish(registry, SPEC, tgz)
    ctx.env["PATH"] = f"{ctx.ws / 'home' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return tgz


def _fetch(ctx: CaseContext, dest: Path | None = None) -> list[str]:
    dest = dest if dest is not None else ctx.ws / "dest"
    return ["fetch-runtime", "--codex-version", "0.169.0", "--target", LINUX, "--dest", str(dest)]


def _cache(ctx: CaseContext, tgz: Path) -> tuple[Path, Path]:
    """Fill the cache as an earlier fetch would have: (blob, npm-meta file)."""
    digest = hashlib.sha512(tgz.read_bytes()).digest()
    blob = ctx.ws / "cache" / "blobs" / f"{digest.hex()}.tgz"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(tgz.read_bytes())
    meta = ctx.ws / "cache" / "npm-meta" / "openai_codex0.169.0-linux-x64.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"integrity": "sha512-" + base64.b64encode(digest).decode()}))
    return blob, meta


def _placed_copy(ctx: CaseContext, outcome: Outcome) -> None:
    placed = ctx.ws / "dest" / "codex-0.169.0-x86_64-unknown-linux-musl.tgz"
    published = (ctx.ws / "pkg.tgz").read_bytes()
    assert placed.read_bytes() == published
    assert placed.stat().st_nlink == 1, "DEST must be a copy, never a hard link to the cache"
    with open(placed, "r+b") as handle:
        handle.write(b"edited in place")
    (blob,) = (ctx.ws / "cache" / "blobs").glob("*.tgz")
    assert blob.read_bytes() == published, "editing DEST changed the cache"


def _asked(*calls: str) -> object:
    def check(ctx: CaseContext, outcome: Outcome) -> None:
        _placed_copy(ctx, outcome)
        assert fake_npm.calls(ctx.ws / "home" / "registry") == list(calls)

    return check


def _damaged_blob(how: str) -> object:
    def build(ctx: CaseContext) -> list[str]:
        blob, _ = _cache(ctx, _published(ctx))
        data = blob.read_bytes()
        blob.write_bytes(
            data[: len(data) // 2] if how == "truncated" else data[:50] + bytes([data[50] ^ 1]) + data[51:]
        )
        return _fetch(ctx)

    return build


def _corrupt_meta(text: bytes) -> object:
    def build(ctx: CaseContext) -> list[str]:
        _, meta = _cache(ctx, _published(ctx))
        meta.write_bytes(text)
        return _fetch(ctx)

    return build


def _hung_npm(ctx: CaseContext) -> list[str]:
    _published(ctx)
    ctx.env.update({"FAKE_NPM_SLEEP": "300", "CODEX_RELEASE_CHILD_TIMEOUT": "1"})
    return _fetch(ctx)


def _disk_full(ctx: CaseContext) -> list[str]:
    _cache(ctx, _published(ctx, padding=256 * 1024))
    (ctx.ws / "dest").mkdir()
    return _fetch(ctx)


def _dest_under_a_file(ctx: CaseContext) -> list[str]:
    _published(ctx)
    (ctx.ws / "a-file").write_text("not a directory\n")
    return _fetch(ctx, ctx.ws / "a-file" / "dest")


def _staging_under_a_file(ctx: CaseContext) -> list[str]:
    (ctx.ws / "a-file").write_text("not a directory\n")
    return ["stage-runtime", str(ctx.ws / "a-file" / "staging"), str(_package(ctx)), "--codex-version", "0.169.0"]


_FSIZE = {resource.RLIMIT_FSIZE: 64 * 1024}


CASES = [
    # Row 10: programs without exec bits, decided by binary kind and layout.
    HostileCase("control: a synthetic package stages", lambda ctx: _stage(ctx, _package(ctx)), None, check=_staged),
    HostileCase(
        "bin/codex without exec bits",
        lambda ctx: _stage(ctx, _without_exec(ctx, "bin/codex")),
        "bin/codex has no exec bits (mode 0644) but is an ELF x86_64 executable",
    ),
    HostileCase(
        "codex-path/rg without exec bits, in an npm tarball",
        lambda ctx: _stage(ctx, _tgz(ctx, _without_exec(ctx, "codex-path/rg"))),
        "codex-path/rg has no exec bits",
    ),
    HostileCase(
        "macOS voice host without exec bits",
        lambda ctx: _stage(
            ctx,
            _without_exec(ctx, "codex-resources/voice/bin/codex-voice-host", triple=MAC_X64, voice=True),
            "--include-voice",
        ),
        "codex-resources/voice/bin/codex-voice-host has no exec bits",
    ),
    HostileCase(
        "win32 codex.exe without exec bits (the published .exe files are 0755)",
        lambda ctx: _stage(ctx, _without_exec(ctx, "bin/codex.exe", triple=WIN_X64)),
        "bin/codex.exe has no exec bits",
    ),
    _voice_library_without_exec(WIN_X64, "codex-resources/voice/bin/glib-2.0-0.dll"),
    _voice_library_without_exec(LINUX, "codex-resources/voice/lib/libglib-2.0.so.0"),
    # Row 14: tags below the documented floors, refused at stage time as verify refuses them.
    HostileCase(
        "control: the derived Linux tag set, requested explicitly",
        lambda ctx: _stage(
            ctx, _package(ctx), "--platform-tag", "musllinux_1_1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64"
        ),
        None,
        check=_staged,
    ),
    HostileCase(
        "manylinux1 on static binaries",
        lambda ctx: _stage(ctx, _package(ctx), "--platform-tag", "manylinux1_x86_64"),
        "below the manylinux_2_17 (manylinux2014) floor",
    ),
    HostileCase(
        "manylinux_2_16 on static binaries",
        lambda ctx: _stage(ctx, _package(ctx), "--platform-tag", "manylinux_2_16_x86_64"),
        "below the manylinux_2_17 (manylinux2014) floor",
    ),
    HostileCase(
        "musllinux_1_0 on static binaries",
        lambda ctx: _stage(ctx, _package(ctx), "--platform-tag", "musllinux_1_0_x86_64"),
        "below the musllinux_1_1 floor",
    ),
    HostileCase(
        "macOS tag below the binaries' minimum",
        lambda ctx: _stage(ctx, _package(ctx, MAC_X64), "--platform-tag", "macosx_10_9_x86_64"),
        "needs macOS 10.12 but macosx_10_9_x86_64 promises 10.9",
    ),
    # Row 8: macOS tags are computed, never listed.
    HostileCase(
        "control: macosx_10_12_x86_64 on the x86_64 macOS package",
        lambda ctx: _stage(ctx, _package(ctx, MAC_X64), "--platform-tag", "macosx_10_12_x86_64"),
        None,
        check=_staged,
    ),
    HostileCase(
        "macosx_99999999_0_x86_64 (listing pip's tags took 29 s and GBs)",
        lambda ctx: _stage(ctx, _package(ctx, MAC_X64), "--platform-tag", "macosx_99999999_0_x86_64"),
        "has a 8-digit number: no glibc, musl or macOS release is numbered that high",
        timeout=30,
    ),
    # Row 12: oversized numbers, paths under a file.
    HostileCase(
        "control: --codex-version as a release tag",
        lambda ctx: ["stage-runtime", str(ctx.ws / "staging"), str(_package(ctx)), "--codex-version", "rust-v0.169.0"],
        None,
        check=_staged,
    ),
    HostileCase(
        "5000-digit --codex-version number",
        lambda ctx: ["stage-runtime", str(ctx.ws / "staging"), str(_package(ctx)), "--codex-version", f"0.{HUGE}.0"],
        "has a 5000-digit number: version numbers are at most 2^53-1",
    ),
    HostileCase(
        "5000-digit number in a --platform-tag",
        lambda ctx: _stage(ctx, _package(ctx), "--platform-tag", f"manylinux_2_{HUGE}_x86_64"),
        "has a 5000-digit number",
    ),
    HostileCase(
        "5000-digit version in codex-package.json",
        lambda ctx: _stage(ctx, _package(ctx, version=f"0.{HUGE}.0")),
        "codex-package.json says version '0.9999",
    ),
    HostileCase(
        "5000-digit --sdk-version",
        lambda ctx: [
            "stage-sdk",
            str(ctx.ws / "sdk-staging"),
            "--codex-version",
            pinned_runtime().pep440,
            "--sdk-version",
            f"1.{HUGE}",
        ],
        "(5002 characters) has a 5000-digit number",
    ),
    HostileCase(
        "STAGING under a file",
        _staging_under_a_file,
        "a-file, which is a file: pass a path through directories",
    ),
    # Row 5 and 12: the fetch cache.
    HostileCase(
        "control: fetch places a copy of the verified blob",
        lambda ctx: (_published(ctx), _fetch(ctx))[1],
        None,
        check=_asked(f"view {SPEC}", f"pack {SPEC}"),  # type: ignore[arg-type]
    ),
    HostileCase(
        "control: a cached blob truncated is fetched again",
        _damaged_blob("truncated"),  # type: ignore[arg-type]
        None,
        check=_asked(f"pack {SPEC}"),  # type: ignore[arg-type]
    ),
    HostileCase(
        "control: a cached blob with a flipped byte is fetched again",
        _damaged_blob("flipped"),  # type: ignore[arg-type]
        None,
        check=_asked(f"pack {SPEC}"),  # type: ignore[arg-type]
    ),
    HostileCase(
        "control: a corrupt npm-meta JSON is asked again",
        _corrupt_meta(b'{"integrity": "sha512-'),  # type: ignore[arg-type]
        None,
        check=_asked(f"view {SPEC}"),  # type: ignore[arg-type]
    ),
    HostileCase(
        "control: a non-UTF-8 npm-meta file is asked again",
        _corrupt_meta(b"\xff\xfe\x00garbage"),  # type: ignore[arg-type]
        None,
        check=_asked(f"view {SPEC}"),  # type: ignore[arg-type]
    ),
    HostileCase("--dest under a file", _dest_under_a_file, "lies under", check=None),
    HostileCase(
        "control: the disk-full fetch without the size limit",
        _disk_full,
        None,
        check=_asked(),  # type: ignore[arg-type]
    ),
    HostileCase(
        "disk full while placing DEST (RLIMIT_FSIZE: writes fail with EFBIG)",
        _disk_full,
        "file too large",
        limits=_FSIZE,
    ),
    # Issue 8 mechanism 6: a hung child process is stopped at its timeout.
    HostileCase(
        "a hung npm is stopped at the timeout",
        _hung_npm,
        "`npm view @openai/codex@0.169.0-linux-x64 dist --json` did not finish within 1 s and was stopped",
        timeout=60,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_inputs(case: HostileCase, tmp_path: Path) -> None:
    run_case(case, tmp_path)
