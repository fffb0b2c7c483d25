from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from codex_release.core.runtime_source import PackageManifest, copy_package, open_source, read_manifest
from codex_release.errors import ArchiveRefused, InputRefused, ReleaseError, Unsupported

TRIPLE = "x86_64-unknown-linux-musl"
MANIFEST = {
    "layoutVersion": 1,
    "version": "0.169.0",
    "target": TRIPLE,
    "variant": "codex",
    "entrypoint": "bin/codex",
    "resourcesDir": "codex-resources",
    "pathDir": "codex-path",
}
FILES = {
    "codex-package.json": (json.dumps(MANIFEST).encode(), 0o644),
    "bin/codex": (b"\x7fELF-codex", 0o755),
    "codex-path/rg": (b"\x7fELF-rg", 0o755),
    "codex-resources/bwrap": (b"\x7fELF-bwrap", 0o755),
    "codex-resources/voice/bin/codex-voice-host": (b"\x7fELF-voice", 0o755),
    "codex-resources/voice/NOTICE.md": (b"notice", 0o644),
}


def make_package_dir(root: Path) -> Path:
    for name, (data, mode) in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    return root


def make_tgz(path: Path, prefix: str = f"package/vendor/{TRIPLE}/", extra: list[tarfile.TarInfo] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("package/package.json")
        payload = b"{}"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
        for name, (data, mode) in FILES.items():
            info = tarfile.TarInfo(prefix + name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        for member in extra or []:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return path


def tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), os.access(p, os.X_OK))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("include_voice", [False, True])
def test_npm_tarball_and_directory_give_the_same_payload(tmp_path: Path, include_voice: bool) -> None:
    from_tgz, from_dir = tmp_path / "a", tmp_path / "b"
    from_tgz.mkdir()
    from_dir.mkdir()
    source = open_source(make_tgz(tmp_path / "pkg.tgz"))
    assert source.kind == "archive"
    assert source.package_root is None  # located while the archive is read, once, by copy_package
    assert copy_package(source, from_tgz, include_voice=include_voice).target == TRIPLE
    directory = open_source(make_package_dir(tmp_path / "src"))
    assert directory.kind == "directory"
    copy_package(directory, from_dir, include_voice=include_voice)
    assert tree(from_tgz) == tree(from_dir)
    names = set(tree(from_tgz))
    assert "package.json" not in names
    assert ("codex-resources/voice/NOTICE.md" in names) is include_voice
    assert tree(from_tgz)["bin/codex"] == (b"\x7fELF-codex", True)
    assert tree(from_tgz)["codex-package.json"][1] is False


def test_manifest_found_at_archive_root_and_in_a_parent_directory(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    copy_package(open_source(make_tgz(tmp_path / "gh.tar.gz", prefix="")), dest)
    assert (dest / "codex-package.json").is_file()
    assert (dest / "bin" / "codex").is_file()
    make_package_dir(tmp_path / "npm" / "package" / "vendor" / TRIPLE)
    assert str(open_source(tmp_path / "npm").package_root) == f"package/vendor/{TRIPLE}"


def test_bare_binary_is_classified(tmp_path: Path) -> None:
    binary = tmp_path / "codex"
    binary.write_bytes(b"\x7fELF")
    assert open_source(binary).kind == "binary"


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size if kind == tarfile.REGTYPE else 0
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        (_member(f"package/vendor/{TRIPLE}/bin/evil", tarfile.SYMTYPE), "is a symlink"),
        (_member(f"package/vendor/{TRIPLE}/bin/hard", tarfile.LNKTYPE), "is a hard link"),
        (_member(f"package/vendor/{TRIPLE}/bin/fifo", tarfile.FIFOTYPE), "is a FIFO"),
        (_member(f"package/vendor/{TRIPLE}/dev", tarfile.CHRTYPE), "is a device"),
        (_member("package/../../escape"), r"'\.\.' component"),
        (_member("/etc/cron.d/evil"), "is absolute"),
    ],
)
def test_hostile_archive_members_are_refused_before_writing(
    tmp_path: Path, member: tarfile.TarInfo, fragment: str
) -> None:
    archive = make_tgz(tmp_path / "evil.tgz", extra=[member])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveRefused, match=fragment):
        copy_package(open_source(archive), dest)
    assert list(dest.iterdir()) == []


def test_symlink_and_fifo_in_a_directory_are_refused(tmp_path: Path) -> None:
    pkg = make_package_dir(tmp_path / "pkg")
    (pkg / "bin" / "link").symlink_to("/etc/passwd")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveRefused, match="link is a symlink"):
        copy_package(open_source(pkg), dest)
    (pkg / "bin" / "link").unlink()
    os.mkfifo(pkg / "codex-path" / "pipe")
    with pytest.raises(ArchiveRefused, match="not a regular file"):
        copy_package(open_source(pkg), dest)
    assert list(dest.iterdir()) == []


def test_source_errors(tmp_path: Path) -> None:
    with pytest.raises(InputRefused, match="does not exist"):
        open_source(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputRefused, match=r"no codex-package\.json in"):
        open_source(tmp_path / "empty")
    make_package_dir(tmp_path / "two" / "a")
    make_package_dir(tmp_path / "two" / "b")
    with pytest.raises(InputRefused, match="several platform packages"):
        open_source(tmp_path / "two")
    (tmp_path / "broken.tgz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ArchiveRefused, match=r"broken\.tgz: not a valid gzip stream"):
        copy_package(open_source(tmp_path / "broken.tgz"), tmp_path / "empty")
    truncated = make_tgz(tmp_path / "t.tgz")
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(ArchiveRefused, match=r"t\.tgz: the gzip stream is cut short"):
        copy_package(open_source(truncated), tmp_path / "empty")


@pytest.mark.parametrize(
    ("change", "kind", "fragment"),
    [
        ({"entrypoint": "../../bin/sh"}, ArchiveRefused, "escapes the package"),
        ({"pathDir": "/usr/bin"}, ArchiveRefused, "escapes the package"),
        ({"layoutVersion": 2}, Unsupported, "unsupported layoutVersion 2"),
        ({"version": None}, ArchiveRefused, "missing version"),
    ],
)
def test_bad_manifests(tmp_path: Path, change: dict[str, object], kind: type[ReleaseError], fragment: str) -> None:
    data = {**MANIFEST, **change}
    (tmp_path / "codex-package.json").write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    with pytest.raises(kind, match=fragment):
        read_manifest(tmp_path)
    with pytest.raises(ArchiveRefused, match="not valid JSON"):
        PackageManifest.parse("{", "x.json")
