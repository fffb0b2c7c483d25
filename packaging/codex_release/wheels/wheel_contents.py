"""What goes into the ``openai-codex-cli-bin`` wheel of a staging directory, decided as hatchling would.

The staging directory is a hatchling project (see ``runtime/``), so the standard parts are asked of
hatchling itself rather than re-implemented: which files the wheel target selects and in which order
(``WheelBuilder.recurse_included_files``: per directory, files then subdirectories, each sorted), the
project id of the file name, the core metadata (``METADATA``, through the same core-metadata
constructor that hatchling's wheel builder uses), ``entry_points.txt`` and license files. The one
project-specific part, the build hook of ``runtime/hatch_build.py`` (platform wheel,
``Root-Is-Purelib: false``, tag ``py3-none-<platform-tag>``), is read from the staged
``pyproject.toml`` with tomlkit. The wheel target's ``sbom-files`` (PEP 770) go where hatchling puts
them, ``<name>.dist-info/sboms/<basename>``, with a payload file's mode. Wheel features that hook and this
writer do not reproduce (shared data, scripts, extra metadata, other build hooks) are refused rather
than silently dropped.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from packaging.tags import parse_tag
from tomlkit.exceptions import TOMLKitError

from codex_release import __version__
from codex_release.core.runtime_source import MANIFEST_NAME, read_manifest
from codex_release.errors import InputRefused, Unsupported, squeezed

__all__ = ["PayloadFile", "WheelContents", "normalized_mode", "payload_files", "read_wheel_contents"]

VENDOR_DIR = Path("src/codex_cli_bin/vendor")
_VENDOR_ARCNAME = "codex_cli_bin/vendor"
_PLATFORM_TAG = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
_RESTAGE = "stage it with `codex-release stage-runtime`"
_UNSUPPORTED = ("shared-data", "shared-scripts", "extra-metadata")


@dataclass(frozen=True)
class PayloadFile:
    """A file of the staging directory and where it goes in the wheel."""

    arcname: str
    path: Path
    size: int
    mode: int


@dataclass(frozen=True)
class WheelContents:
    """Everything a wheel of the staging directory holds, in archive order (RECORD excluded)."""

    project_id: str
    tag: str
    files: tuple[PayloadFile, ...]
    metadata: tuple[tuple[str, bytes], ...]
    sboms: tuple[PayloadFile, ...] = ()
    """PEP 770 SBOMs, written after ``metadata`` (as hatchling does) with their normalised file mode."""

    @property
    def filename(self) -> str:
        return f"{self.project_id}-{self.tag}.whl"

    @property
    def dist_info(self) -> str:
        return f"{self.project_id}.dist-info"


def normalized_mode(st_mode: int) -> int:
    """A regular file, 0o755 if its owner may execute it (hatchling's rule) else 0o644; no special bits."""
    return stat.S_IFREG | (0o755 if st_mode & stat.S_IXUSR else 0o644)


def wheel_file_text(tag: str) -> str:
    """The ``WHEEL`` file: as hatchling writes it (tags expanded and sorted), with our Generator line."""
    lines = ["Wheel-Version: 1.0", f"Generator: codex-release {__version__}", "Root-Is-Purelib: false"]
    lines += [f"Tag: {expanded}" for expanded in sorted(map(str, parse_tag(tag)))]
    return "\n".join(lines) + "\n"


def _table(document: Any, *keys: str) -> Any:
    for key in keys:
        if not hasattr(document, "get"):
            return None
        document = document.get(key)
    return document


def _platform_tag(pyproject: Path) -> str:
    try:
        document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        raise InputRefused(f"cannot read {pyproject}: {exc}: {_RESTAGE}") from None
    hooks = _table(document, "tool", "hatch", "build", "hooks")
    target_hooks = _table(document, "tool", "hatch", "build", "targets", "wheel", "hooks")
    others = sorted({*(hooks or {}), *(target_hooks or {})} - {"custom"})
    if others:
        raise Unsupported(
            f"{pyproject}: build hooks {', '.join(others)} are not reproduced by the fast wheel writer: "
            "build this project with `python -m build --wheel` instead"
        )
    tag = _table(hooks, "custom", "platform-tag")
    if not isinstance(tag, str) or not tag.strip():
        raise InputRefused(f"{pyproject}: no platform-tag in [tool.hatch.build.hooks.custom]: {_RESTAGE}")
    tag = tag.strip()
    if not _PLATFORM_TAG.fullmatch(tag):
        raise InputRefused(
            f"{pyproject}: platform-tag {tag!r} is not a (dot-compressed) wheel platform tag such as "
            f"'manylinux_2_17_x86_64.musllinux_1_1_x86_64': {_RESTAGE}"
        )
    return tag


def _payload_file(root: Path, path: Path, arcname: str) -> PayloadFile:
    try:
        info = path.lstat()
        inside = path.resolve().is_relative_to(root)
    except OSError as exc:
        raise InputRefused(f"cannot read {path}: {exc.strerror}: {_RESTAGE}") from None
    if not stat.S_ISREG(info.st_mode) or not inside:
        raise InputRefused(
            f"{path} is not a regular file of the staging directory (a wheel holds no links or devices): {_RESTAGE}"
        )
    return PayloadFile(arcname, path, info.st_size, normalized_mode(info.st_mode))


def _check_vendor(root: Path, files: tuple[PayloadFile, ...]) -> None:
    vendor = root / VENDOR_DIR
    if not (vendor / MANIFEST_NAME).is_file():
        raise InputRefused(f"no Codex platform package in {vendor} ({MANIFEST_NAME} is missing): {_RESTAGE}")
    manifest = read_manifest(vendor)
    arcnames = {file.arcname for file in files}
    if f"{_VENDOR_ARCNAME}/{MANIFEST_NAME}" not in arcnames:
        raise InputRefused(f"{vendor} is not selected by the wheel target of {root / 'pyproject.toml'}: {_RESTAGE}")
    if f"{_VENDOR_ARCNAME}/{manifest.entrypoint}" not in arcnames:
        raise InputRefused(f"the Codex entrypoint {vendor / manifest.entrypoint} is missing: {_RESTAGE}")


def _builder(staging_dir: Path) -> tuple[Path, Any]:
    root = staging_dir.resolve()
    pyproject = root / "pyproject.toml"
    if not root.exists():
        raise InputRefused(f"staging directory {staging_dir} does not exist: {_RESTAGE}")
    if not root.is_dir():
        raise InputRefused(f"staging directory {staging_dir} is not a directory: {_RESTAGE}")
    if not pyproject.is_file():
        raise InputRefused(f"no pyproject.toml in {staging_dir}: {_RESTAGE}")

    from hatchling.builders.wheel import WheelBuilder

    try:
        return root, WheelBuilder(str(root))
    except (ValueError, TypeError, OSError) as exc:
        raise InputRefused(f"hatchling cannot read {pyproject}: {squeezed(exc)}") from None


def _payload(root: Path, builder: Any) -> tuple[PayloadFile, ...]:
    try:
        included = [(Path(item.path), item.distribution_path) for item in builder.recurse_included_files()]
    except (ValueError, TypeError, OSError) as exc:
        raise InputRefused(f"hatchling cannot read {root / 'pyproject.toml'}: {squeezed(exc)}") from None
    files = tuple(_payload_file(root, path, arcname.replace("\\", "/")) for path, arcname in included)
    _check_vendor(root, files)
    return files


def payload_files(staging_dir: Path) -> tuple[PayloadFile, ...]:
    """The files the wheel of ``staging_dir`` installs (everything outside ``.dist-info/``), in archive order.

    What ``stage-runtime`` lists in the SBOM before the SBOM itself exists.
    """
    root, builder = _builder(Path(staging_dir))
    return _payload(root, builder)


def _sboms(root: Path, builder: Any, dist_info: str) -> tuple[PayloadFile, ...]:
    found: list[PayloadFile] = []
    for relative in builder.config.sbom_files:
        path = root / relative
        if not path.is_file():
            raise InputRefused(
                f"{root / 'pyproject.toml'}: the SBOM {relative} (tool.hatch.build.targets.wheel.sbom-files) is not "
                f"a file of the staging directory: {_RESTAGE}"
            )
        found.append(_payload_file(root, path, f"{dist_info}/sboms/{path.name}"))
    return tuple(found)


def read_wheel_contents(staging_dir: Path) -> WheelContents:
    """Read the staging directory; a problem is a :class:`ReleaseError` naming it and the fix."""
    root, builder = _builder(Path(staging_dir))
    pyproject = root / "pyproject.toml"
    tag = f"py3-none-{_platform_tag(pyproject)}"
    try:
        for option in _UNSUPPORTED:
            if getattr(builder.config, option.replace("-", "_")):
                raise Unsupported(
                    f"{pyproject}: [tool.hatch.build.targets.wheel] {option} is not reproduced by the fast "
                    "wheel writer: build this project with `python -m build --wheel` instead"
                )
        project_id = builder.artifact_project_id
        core_metadata = builder.config.core_metadata_constructor(builder.metadata, extra_dependencies=())
        entry_points = builder.construct_entry_points_file()
        license_files = list(builder.metadata.core.license_files)
    except (ValueError, TypeError, OSError) as exc:
        raise InputRefused(f"hatchling cannot read {pyproject}: {squeezed(exc)}") from None

    files = _payload(root, builder)
    dist_info = f"{project_id}.dist-info"
    metadata: list[tuple[str, bytes]] = [
        (f"{dist_info}/METADATA", core_metadata.encode("utf-8")),
        (f"{dist_info}/WHEEL", wheel_file_text(tag).encode("utf-8")),
    ]
    if entry_points:
        metadata.append((f"{dist_info}/entry_points.txt", entry_points.encode("utf-8")))
    for relative in license_files:
        try:
            data = (root / relative).read_bytes()
        except OSError as exc:
            raise InputRefused(f"cannot read license file {root / relative}: {exc.strerror}") from None
        metadata.append((f"{dist_info}/licenses/{relative}", data))
    try:
        sboms = _sboms(root, builder, dist_info)
    except TypeError as exc:
        raise InputRefused(f"hatchling cannot read {pyproject}: {squeezed(exc)}") from None
    return WheelContents(project_id, tag, files, tuple(metadata), sboms)
