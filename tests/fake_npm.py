"""A fake ``npm`` on PATH that serves ``npm view SPEC dist --json``, ``npm pack SPEC`` and ``npm view PACKAGE
versions --json`` from a directory.

:func:`install` writes the script into a ``bin`` directory (put it first on PATH); :func:`publish` adds a
tarball under a spec with its sha512 ``integrity``. Every call is appended to ``calls.log`` in the
registry directory, so tests can count what was asked. ``FAKE_NPM_SLEEP=SECONDS`` in the environment
makes every call hang that long first (for the subprocess timeout tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
from pathlib import Path

__all__ = ["calls", "install", "publish", "publish_versions"]

_SCRIPT = """\
import json, os, shutil, sys, time
from pathlib import Path

registry = Path({registry!r})
with open(registry / "calls.log", "a", encoding="utf-8") as log:
    log.write(" ".join(sys.argv[1:3]) + "\\n")
time.sleep(float(os.environ.get("FAKE_NPM_SLEEP", "0")))
command, spec = sys.argv[1], sys.argv[2]
if sys.argv[1:] == ["view", spec, "versions", "--json"] and (registry / "versions.json").is_file():
    print((registry / "versions.json").read_text())
    sys.exit(0)
entry = registry / (spec.replace("/", "_").replace("@", "") + ".json")
if not entry.is_file():
    print(f"npm error 404 Not Found - {{spec}}", file=sys.stderr)
    sys.exit(1)
published = json.loads(entry.read_text())
if command == "view":
    print(json.dumps({{"integrity": published["integrity"], "tarball": "fake"}}))
elif command == "pack":
    dest = Path(sys.argv[sys.argv.index("--pack-destination") + 1])
    name = published["filename"]
    shutil.copyfile(registry / name, dest / name)
    print(json.dumps([{{"filename": name}}]))
else:
    sys.exit(2)
"""


def install(bin_dir: Path, registry: Path) -> Path:
    """Write ``bin_dir/npm`` serving ``registry``; returns ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    registry.mkdir(parents=True, exist_ok=True)
    npm = bin_dir / "npm"
    npm.write_text(f"#!{sys.executable}\n" + _SCRIPT.format(registry=str(registry)), encoding="utf-8")
    npm.chmod(0o755)
    return bin_dir


def publish(registry: Path, spec: str, tarball: Path) -> str:
    """Serve ``tarball`` as ``spec``; returns its ``sha512-...`` integrity."""
    safe = spec.replace("/", "_").replace("@", "")
    name = f"{safe}.tgz"
    shutil.copyfile(tarball, registry / name)
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    (registry / f"{safe}.json").write_text(json.dumps({"integrity": integrity, "filename": name}))
    return integrity


def publish_versions(registry: Path, versions: list[str]) -> None:
    """What ``npm view PACKAGE versions --json`` lists (every version, platform packages included)."""
    registry.mkdir(parents=True, exist_ok=True)
    (registry / "versions.json").write_text(json.dumps(versions), encoding="utf-8")


def calls(registry: Path) -> list[str]:
    """The ``npm`` calls so far, as ``"view SPEC"`` / ``"pack SPEC"``."""
    log = registry / "calls.log"
    return log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
