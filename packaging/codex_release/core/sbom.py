"""The software bill of materials of a runtime wheel (PEP 770: ``<name>.dist-info/sboms/``, CycloneDX JSON).

A runtime wheel embeds a prebuilt Codex platform package, so what a scanner cannot see from the wheel's
METADATA is exactly what it needs: which upstream package the binaries came from and whether the files
are still those. The SBOM names

* the wheel itself (``pkg:pypi/openai-codex-cli-bin@V``), the root of the document;
* the embedded Codex platform package (``pkg:npm/%40openai/codex@<semver>-<suffix>``) with the published
  integrity hash it was fetched with (SHA-512), on which the wheel depends;
* every bundled file, by its path in the wheel, with its SHA-256.

It is written with ``cyclonedx-python-lib`` (the CycloneDX project's own library) and made reproducible:
the serial number is a UUID-5 of the wheel's identity and the bundled files, the timestamp is fixed
(``SOURCE_DATE_EPOCH`` when set), so two builds of the same inputs give the same bytes. ``verify`` reads
it back with :func:`check_sbom` (plain JSON: checking needs no model classes) and compares it with the
wheel's contents.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from codex_release.errors import ToolFailed

__all__ = ["SBOM_DIR", "SBOM_NAME", "EmbeddedPackage", "build_sbom", "check_sbom"]

SBOM_DIR = "sboms"
"""The PEP 770 directory inside ``.dist-info``."""
SBOM_NAME = "codex-runtime.cdx.json"
_RUNTIME = "openai-codex-cli-bin"
_DEFAULT_EPOCH = 315532800  # 1980-01-01: the earliest ZIP timestamp, the wheel writer's floor; fixed, so reproducible


@dataclass(frozen=True)
class EmbeddedPackage:
    """The Codex platform package a wheel embeds."""

    npm_name: str
    """``@openai/codex``."""
    npm_version: str
    """``0.169.0-linux-x64``."""
    sha512: str | None
    """Hex SHA-512 of the tarball (the registry's integrity hash), ``None`` when staged from a directory."""


def _timestamp() -> datetime:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "")
    epoch = int(raw) if raw.isdigit() and len(raw) <= 12 else _DEFAULT_EPOCH
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def build_sbom(version: str, package: EmbeddedPackage, files: Mapping[str, str]) -> bytes:
    """The CycloneDX 1.6 JSON document for a runtime wheel of ``version`` holding ``files`` (path -> sha256)."""
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    identity = json.dumps([version, package.npm_name, package.npm_version, package.sha512, sorted(files.items())])
    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(identity.encode()).hexdigest()))
    bom.metadata.timestamp = _timestamp()
    root = Component(
        name=_RUNTIME,
        version=version,
        type=ComponentType.LIBRARY,
        bom_ref=f"pkg:pypi/{_RUNTIME}@{version}",
        purl=PackageURL("pypi", None, _RUNTIME, version),
    )
    bom.metadata.component = root
    namespace, _, name = package.npm_name.rpartition("/")
    purl = PackageURL("npm", namespace or None, name, package.npm_version)
    embedded = Component(
        name=name,
        group=namespace or None,
        version=package.npm_version,
        type=ComponentType.APPLICATION,
        bom_ref=purl.to_string(),
        purl=purl,
        hashes=[HashType(alg=HashAlgorithm.SHA_512, content=package.sha512)] if package.sha512 else [],
        description="The Codex CLI platform package whose files this wheel bundles",
    )
    bom.components.add(embedded)
    for path, digest in sorted(files.items()):
        bom.components.add(
            Component(
                name=path,
                type=ComponentType.FILE,
                bom_ref=f"file:{path}",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest)],
            )
        )
    bom.register_dependency(root, [embedded])
    return (JsonV1Dot6(bom).output_as_string(indent=2) + "\n").encode("utf-8")


def _hash(component: Mapping[str, Any], alg: str) -> str | None:
    for entry in component.get("hashes") or []:
        if isinstance(entry, dict) and entry.get("alg") == alg and isinstance(entry.get("content"), str):
            return str(entry["content"])
    return None


def check_sbom(document: bytes, version: str, files: Mapping[str, str], *, npm_version: str | None = None) -> list[str]:
    """Faults of a runtime wheel's SBOM against the wheel: ``files`` is every bundled path -> sha256.

    Checked: CycloneDX JSON naming this wheel, one embedded npm Codex package (at ``npm_version``, e.g.
    ``0.169.0-linux-x64``, when given: the platform package the wheel's own ``codex-package.json`` says it
    bundles), and exactly the bundled files with their SHA-256 (a file missing from the SBOM, listed but
    absent, or with another hash is a fault).
    """
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"the SBOM is not JSON ({exc})"]
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        return ["the SBOM is not a CycloneDX document"]
    faults: list[str] = []
    root = (data.get("metadata") or {}).get("component") or {}
    if root.get("name") != _RUNTIME or root.get("version") != version:
        faults.append(f"the SBOM describes {root.get('name')} {root.get('version')}, not {_RUNTIME} {version}")
    components = [c for c in data.get("components") or [] if isinstance(c, dict)]
    npm = [c for c in components if str(c.get("purl", "")).startswith("pkg:npm/")]
    if len(npm) != 1:
        faults.append(f"the SBOM names {len(npm)} embedded npm packages, not one")
    elif npm_version is not None and npm[0].get("version") != npm_version:
        faults.append(
            f"the SBOM names the npm package {'/'.join(str(n) for n in (npm[0].get('group'), npm[0].get('name')) if n)}"
            f"@{npm[0].get('version')}, but the wheel bundles "
            f"the platform package {npm_version}"
        )
    listed: dict[str, str | None] = {}
    for component in components:
        if component.get("type") == "file":
            listed[str(component.get("name"))] = _hash(component, "SHA-256")
    for path in sorted(set(files) - set(listed)):
        faults.append(f"{path} is in the wheel but not in the SBOM")
    for path in sorted(set(listed) - set(files)):
        faults.append(f"the SBOM lists {path}, which the wheel does not hold")
    for path in sorted(set(files) & set(listed)):
        if listed[path] != files[path]:
            faults.append(f"{path}: the SBOM's SHA-256 does not match the file")
    return faults


def sbom_or_error(version: str, package: EmbeddedPackage, files: Mapping[str, str]) -> bytes:
    """:func:`build_sbom`, with a missing library reported as a one-line error."""
    try:
        return build_sbom(version, package, files)
    except ImportError as exc:  # pragma: no cover - a dependency of the toolkit
        raise ToolFailed(f"cannot write the SBOM ({exc}): reinstall the toolkit (`make setup`)") from None
