#!/usr/bin/env python3
"""Maintainer entry point: the same CLI as `codex-release`, working on the repository this script is in.

Example: `python scripts/update_sdk_artifacts.py stage-sdk STAGING --codex-version rust-v0.169.0`.
It runs the installed toolkit (`make setup` installs it) with `--checkout` set to this repository, so it
works from any directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    try:
        from codex_release.cli import main
    except ImportError as exc:
        sys.exit(
            f"error: the release toolkit is not installed for {sys.executable} ({exc}): run `make setup` and use "
            ".venv/bin/python, or `pip install -e .` in the repository"
        )
    main(["--checkout", str(CHECKOUT), *sys.argv[1:]], prog_name="update_sdk_artifacts.py")
