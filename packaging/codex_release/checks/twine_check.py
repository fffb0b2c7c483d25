"""``PYTHON -I .../checks/twine_check.py [twine options] check --strict FILE...``: twine without hashing.

It imports only :mod:`sys` and twine, so any interpreter with twine can run it by path: ``verify`` runs it
with the publish action's own twine (:mod:`codex_release.checks.publisher_twine`), whose venv holds no
toolkit. Keep it that way.

``twine check`` builds a ``twine.package.PackageFile`` per file, and that constructor hashes every byte of
the file (SHA-256 and BLAKE2) for the upload form. ``check`` never looks at those digests: its verdict
comes from the metadata alone (it parses METADATA or PKG-INFO, validates it and renders the long
description). For a release that is 2 s of CPU hashing 1 GB of runtime wheels, on the two cores the
scan of ``verify`` needs, for digests that are thrown away.

So this runs twine's own command line (``twine.__main__.main``, exactly what ``python -m twine`` runs)
with ``HashManager.hash`` replaced by a no-op: the same code reads the same files and prints the same
verdicts, minus the hashing. Should a twine release rename the hasher, nothing is patched and twine runs
as it is (slower, same verdicts). ``tests/test_verify_scan.py`` checks the verdicts against stock
``python -m twine check --strict`` on good and broken distributions.

Why not hand twine small stand-in wheels holding only ``.dist-info/``: twine takes as METADATA the
shallowest member of any name containing ``METADATA``, read through :mod:`zipfile` (with its own CRC and
header checks), so a stand-in would have to copy those members' zip records byte for byte to be judged
the same; and it would need scratch files. Skipping the one computation ``check`` discards needs neither.
"""

from __future__ import annotations

import sys

__all__ = ["main", "skip_hashing"]


def _no_hash(self: object) -> None:
    """Stands in for ``HashManager.hash``: the digests it would fill are never read by ``check``."""


def skip_hashing() -> bool:
    """Make twine's ``PackageFile`` skip hashing the file; whether twine had the hasher to replace."""
    from twine import package

    hasher = getattr(package, "HashManager", None)
    if hasher is None or not callable(getattr(hasher, "hash", None)):
        return False
    hasher.hash = _no_hash
    return True


def main(argv: list[str]) -> int:
    """``twine ARGV`` with hashing skipped; twine's exit status."""
    skip_hashing()
    from twine.__main__ import main as twine_main

    sys.argv = ["twine", *argv]
    return 1 if twine_main() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
