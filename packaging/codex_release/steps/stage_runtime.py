"""``stage-runtime``: turn a Codex runtime SOURCE into a buildable ``openai-codex-cli-bin`` project.

The staging directory is the ``runtime/`` template with the version and the platform tag filled in
and the platform package under ``src/codex_cli_bin/vendor/``. ``python -m build --wheel STAGING``
builds it with hatchling; :func:`codex_release.wheels.wheel_writer.write_wheel` writes the same wheel faster.

A target may give two wheels (:mod:`codex_release.core.variants`): where an optional ``codex-path/`` helper
needs more than the rest of the package (the aarch64 ``rg`` needs glibc 2.18, ``codex`` is static),
``--wheel-dir`` also receives a *lean* wheel without that helper and with the wider tags, written by the
same writer from a second staged tree (hard links of the first, minus the helper, with its own tags in
``pyproject.toml``), so it is as reproducible as the first. STAGING_DIR itself is always the *full*
variant: ``python -m build --wheel STAGING_DIR`` builds the wheel with every helper.

The staging directory is assembled in a sibling temporary directory and renamed into place only when
every check passed, so a failure leaves nothing behind (:mod:`codex_release.core.staging`).

Every staging directory carries the wheel's software bill of materials (PEP 770) at :data:`SBOM_PATH`,
named by the wheel target's ``sbom-files``, so both wheel builders put it at
``openai_codex_cli_bin-V.dist-info/sboms/codex-runtime.cdx.json`` (:mod:`codex_release.core.sbom`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from codex_release.binaries import BinaryInfo, inspect_binary, inspect_tree, needs_exec_bit, sniff_format
from codex_release.core.platform_tags import check_requested_tags
from codex_release.core.runtime_source import MANIFEST_NAME, PackageManifest, RuntimeSource, copy_package, open_source
from codex_release.core.sbom import SBOM_NAME, EmbeddedPackage, sbom_or_error
from codex_release.core.staging import check_place, check_replaceable, deferred_signals, hold, replace_when_done
from codex_release.core.targets import TARGETS, Target, get_target
from codex_release.core.variants import HELPERS_FILE, Variant, choose_variants, helpers_document
from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import ArchiveRefused, InputRefused
from codex_release.file_digests import file_key, file_sha256
from codex_release.wheels.parallel_deflate import MemberCache

__all__ = ["SBOM_PATH", "StagedRuntime", "stage_runtime", "write_sbom"]

VENDOR = Path("src/codex_cli_bin/vendor")
SBOM_PATH = Path("sboms") / SBOM_NAME
"""The SBOM in the staging directory (outside the package: only the wheel's ``.dist-info/sboms/`` holds it)."""
_TEMPLATE_FILES = ("pyproject.toml", "hatch_build.py", "README.md")
_TEMPLATE_PACKAGE = Path("src/codex_cli_bin")


@dataclass(frozen=True)
class StagedRuntime:
    """What ``stage-runtime`` produced."""

    staging_dir: Path
    target: Target
    version: CodexVersion
    platform_tags: tuple[str, ...]
    binaries: tuple[BinaryInfo, ...]
    variants: tuple[Variant, ...] = ()
    """``(full,)`` or ``(full, lean)``: the wheels this target gives (see :mod:`codex_release.core.variants`)."""
    wheels: tuple[Path, ...] = ()
    """Every wheel written into ``--wheel-dir``, one per variant, in the order of :attr:`variants`."""

    @property
    def wheel(self) -> Path | None:
        """The full wheel (``--wheel-dir``), built from STAGING_DIR."""
        return self.wheels[0] if self.wheels else None

    @property
    def platform_tag(self) -> str:
        return ".".join(self.platform_tags)


def _copy_template(template: Path, dest: Path) -> None:
    for name in _TEMPLATE_FILES:
        shutil.copyfile(template / name, dest / name)
    package = dest / _TEMPLATE_PACKAGE
    package.mkdir(parents=True)
    for entry in sorted((template / _TEMPLATE_PACKAGE).iterdir()):
        if entry.is_file() and (entry.suffix == ".py" or entry.name == "py.typed"):
            shutil.copyfile(entry, package / entry.name)


def _resolve_target(manifest_target: str | None, requested: str | None, binary: BinaryInfo | None) -> Target:
    if manifest_target is not None:
        target = get_target(manifest_target)
        if requested is not None and requested != manifest_target:
            raise InputRefused(
                f"--target {requested} disagrees with {MANIFEST_NAME} (target {manifest_target}): "
                "drop --target or pass the matching package"
            )
        return target
    if requested is not None:
        return get_target(requested)
    assert binary is not None
    matches = [t for t in TARGETS if t.os == binary.os and t.arch in binary.archs]
    if len(matches) != 1:
        raise InputRefused(f"cannot tell the target of {binary.describe()}: pass --target")
    return matches[0]


def _stage_binary(
    source: Path, vendor: Path, version: CodexVersion, requested: str | None
) -> tuple[Target, PackageManifest]:
    if sniff_format(source) is None:
        raise InputRefused(f"SOURCE {source} is not an executable (no ELF, Mach-O or PE header)")
    target = _resolve_target(None, requested, inspect_binary(source))
    entrypoint = f"bin/{target.executable_name}"
    (vendor / "bin").mkdir(parents=True)
    shutil.copyfile(source, vendor / entrypoint)
    os.chmod(vendor / entrypoint, 0o755)
    manifest = {
        "layoutVersion": 1,
        "version": version.semver,
        "target": target.triple,
        "variant": "codex",
        "entrypoint": entrypoint,
        "resourcesDir": "codex-resources",
        "pathDir": "codex-path",
    }
    text = json.dumps(manifest, indent=2) + "\n"
    (vendor / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return target, PackageManifest.parse(text, str(vendor / MANIFEST_NAME))


def _stage_package(
    source: RuntimeSource,
    vendor: Path,
    version: CodexVersion,
    requested: str | None,
    include_voice: bool,
    cache: MemberCache,
) -> tuple[Target, PackageManifest]:
    manifest = copy_package(source, vendor, include_voice=include_voice, on_file=cache.file_written)
    target = _resolve_target(manifest.target, requested, None)
    try:
        found = parse_codex_version(manifest.version)
    except InputRefused:
        found = None
    if found != version:
        raise InputRefused(
            f"{source.path}: {MANIFEST_NAME} says version {manifest.version[:40]!r} but --codex-version is {version}: "
            "pass the platform package of that release"
        )
    entry = vendor / manifest.entrypoint
    if not entry.is_file():
        raise ArchiveRefused(f"{source.path}: the entrypoint {manifest.entrypoint} is missing from the package")
    if sniff_format(entry) is None:
        raise ArchiveRefused(f"{source.path}: {manifest.entrypoint} is not an executable (no ELF, Mach-O or PE header)")
    return target, manifest


def _check_exec_bits(
    source: Path, vendor: Path, manifest: PackageManifest, binaries: tuple[BinaryInfo, ...], target: Target
) -> None:
    """Refuse a package whose programs lack exec bits, naming the first: the wheel would install a
    ``codex`` (or ``rg`` on PATH) that cannot start, and ``verify`` refuses such a wheel.

    A program is what :func:`~codex_release.binaries.needs_exec_bit` says from the headers, plus by the
    layout the entrypoint and, except on Windows (which runs files by extension, not mode), every file
    directly in the package's ``pathDir`` (put on PATH, so run by name, whatever it is). Libraries need
    no exec bits.
    """
    wanted = {info.name: info.describe(detail=False) for info in binaries if needs_exec_bit(info)}
    if target.os != "windows":
        path_dir = vendor / manifest.path_dir
        if path_dir.is_dir():
            for entry in sorted(path_dir.iterdir()):
                if entry.is_file():
                    wanted.setdefault(entry.relative_to(vendor).as_posix(), "program on PATH")
    wanted.setdefault(manifest.entrypoint, "the entrypoint")
    for name in sorted(wanted):
        path = vendor / name
        if path.is_file() and not path.stat().st_mode & 0o111:
            raise ArchiveRefused(
                f"{source}: {name} has no exec bits (mode {path.stat().st_mode & 0o777:04o}) but is "
                f"{_article(wanted[name])}: a wheel of it would install a program that cannot start; "
                f"chmod +x it in the package (or use the published platform package)"
            )


def _article(text: str) -> str:
    return text if text.startswith("the ") else ("an " if text[:1] in "AEIOU" else "a ") + text


def _write_project(staging: Path, version: CodexVersion, tags: tuple[str, ...]) -> None:
    pyproject = staging / "pyproject.toml"
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    document["project"]["version"] = version.pep440
    document["tool"]["hatch"]["build"]["hooks"]["custom"]["platform-tag"] = ".".join(tags)
    document["tool"]["hatch"]["build"]["targets"]["wheel"]["sbom-files"] = [SBOM_PATH.as_posix()]
    pyproject.unlink()  # a new file: the lean tree's pyproject starts as a hard link of the full one's
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")


def write_sbom(
    staging: Path,
    version: CodexVersion,
    target: Target,
    archive_sha512: str | None,
    *,
    cache: MemberCache | None = None,
) -> Path:
    """Write the SBOM of the wheel of ``staging`` at :data:`SBOM_PATH`: the embedded npm platform package and
    the SHA-256 of every file the wheel installs (hatchling's own file selection, so the list is the wheel's).

    ``archive_sha512`` is the tarball SOURCE's SHA-512, which for an unmodified npm package is its published
    integrity (``fetch-runtime`` checked it); a directory or a bare binary SOURCE has no such hash, and the
    SBOM then records none rather than one that names no published file. Digests the ``cache`` knows (taken
    when the archive reader wrote the files) are not taken again.
    """
    from codex_release.wheels.wheel_contents import payload_files

    def sha256_hex(path: Path) -> str:
        known = cache.known_digests(file_key(path)) if cache is not None else None
        return known.sha256.hex() if known is not None else file_sha256(path)

    files = payload_files(staging)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sbom-sha256") as pool:
        digests = dict(zip((f.arcname for f in files), pool.map(sha256_hex, (f.path for f in files)), strict=True))
    npm_name, _, npm_version = target.npm_spec(version.semver).rpartition("@")
    document = sbom_or_error(version.pep440, EmbeddedPackage(npm_name, npm_version, archive_sha512), digests)
    path = staging / SBOM_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # in the lean tree it starts as a hard link of the full tree's SBOM
    path.write_bytes(document)
    return path


def _write_helpers(staging: Path, variant: Variant, path_dir: str) -> None:
    """Say in the package which pathDir helpers this tree holds and which it leaves out, and why."""
    helpers = staging / VENDOR / path_dir
    bundled = sorted(p.relative_to(staging / VENDOR).as_posix() for p in helpers.iterdir()) if helpers.is_dir() else []
    target = staging / _TEMPLATE_PACKAGE / HELPERS_FILE
    target.unlink(missing_ok=True)
    target.write_text(helpers_document(variant, bundled), encoding="utf-8")


def _link_or_copy(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:  # a file system without hard links: a copy is as good, only slower
        shutil.copy2(source, dest)


def _lean_tree(work: Path, variant: Variant, version: CodexVersion, path_dir: str) -> Path:
    """A second staged tree beside ``work`` (in the same scratch): hard links of ``work`` minus the omitted
    helpers, with the lean tags and its own helpers file. Removed with the scratch."""
    lean = work.parent / "lean"
    shutil.copytree(work, lean, copy_function=_link_or_copy)
    for name in variant.omitted:
        (lean / VENDOR / name).unlink()
    helpers = lean / VENDOR / path_dir
    if helpers.is_dir() and not any(helpers.iterdir()):
        helpers.rmdir()
    _write_project(lean, version, variant.tags)
    _write_helpers(lean, variant, path_dir)
    return lean


def _relocate(path: Path, work: Path, staging: Path) -> Path:
    if path.is_absolute():
        return staging / path.relative_to(work)
    return staging / VENDOR / path


def stage_runtime(
    staging_dir: Path,
    source: Path,
    version: CodexVersion,
    *,
    template: Path,
    checkout: Path,
    target: str | None = None,
    platform_tag: str | None = None,
    include_voice: bool = False,
    overwrite: bool = False,
    wheel_dir: Path | None = None,
    progress: bool | None = None,
) -> StagedRuntime:
    """Stage SOURCE as an ``openai-codex-cli-bin`` project in ``staging_dir`` (and optionally write its wheel).

    ``template`` is the project template (a checkout's ``runtime/``), ``checkout`` the root of the checkout
    the output rules protect.
    Output rules (:mod:`codex_release.core.staging`): STAGING_DIR lies outside the checkout and apart from
    SOURCE; ``wheel_dir`` lies apart from SOURCE and STAGING_DIR and, inside the checkout, only in a
    git-ignored output directory (a wheel written into SOURCE would be staged into the next wheel).
    The wheel is written from the new tree before STAGING_DIR is swapped, under STAGING_DIR's lock: a
    failure at any point leaves STAGING_DIR as it was, and a concurrent run can never swap another
    target's tree in under the wheel writer.
    """
    staging = check_place(staging_dir, label="STAGING_DIR", sources={"SOURCE": source}, checkout=checkout)
    wheels = (
        check_place(
            wheel_dir,
            label="--wheel-dir",
            sources={"SOURCE": source, "STAGING_DIR": staging},
            checkout=checkout,
            in_checkout="ignored",
        )
        if wheel_dir is not None
        else None
    )
    opened = open_source(source)
    with hold(staging, label="STAGING_DIR"):
        check_replaceable(staging, label="STAGING_DIR", overwrite=overwrite)
        # one pool for the run: the executable is compressed while the rest of its package is unpacked
        with replace_when_done(staging) as work, MemberCache(prefetch=wheels is not None) as cache:
            _copy_template(template, work)
            vendor = work / VENDOR
            vendor.mkdir()
            if opened.kind == "binary":
                resolved, manifest = _stage_binary(source, vendor, version, target)
            else:
                resolved, manifest = _stage_package(opened, vendor, version, target, include_voice, cache)
            archive_sha512 = manifest.archive_sha512
            binaries = tuple(inspect_tree(vendor))
            _check_exec_bits(source, vendor, manifest, binaries, resolved)
            path_dir = manifest.path_dir
            # A requested tag is one explicit wheel; otherwise the binaries choose full (+ lean).
            variants = (
                (Variant("full", check_requested_tags(platform_tag, binaries, resolved)),)
                if platform_tag
                else choose_variants(binaries, resolved, path_dir=path_dir)
            )
            tags = variants[0].tags
            _write_project(work, version, tags)
            _write_helpers(work, variants[0], path_dir)
            write_sbom(work, version, resolved, archive_sha512, cache=cache)
            # the lean wheel (hard links of the full tree) reuses the full wheel's compressed members
            cache.keep_deflated = len(variants) > 1
            written: list[Path] = []
            if wheels is not None:
                # Written from the new tree before it is swapped in: a failed or interrupted wheel leaves
                # STAGING_DIR as it was, and a concurrent run cannot swap another tree in underneath.
                from codex_release.wheels.wheel_writer import write_wheel

                try:
                    written.append(write_wheel(work, wheels, progress=progress, cache=cache))
                    for variant in variants[1:]:
                        lean = _lean_tree(work, variant, version, path_dir)
                        # the lean payload, its own SBOM
                        write_sbom(lean, version, resolved, archive_sha512, cache=cache)
                        written.append(write_wheel(lean, wheels, progress=progress, cache=cache))
                except BaseException:
                    with deferred_signals():  # all of the target's wheels or none
                        for path in written:
                            path.unlink(missing_ok=True)
                    raise
        relocated = tuple(dataclasses.replace(info, path=_relocate(info.path, work, staging)) for info in binaries)
    return StagedRuntime(staging, resolved, version, tags, relocated, variants, tuple(written))
