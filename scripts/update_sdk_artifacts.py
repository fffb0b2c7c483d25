#!/usr/bin/env python3
"""Maintainer entry point: the same CLI as `codex-release`.

Example: `python scripts/update_sdk_artifacts.py stage-sdk STAGING --codex-version rust-v0.169.0`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))

from codex_release.cli import main

if __name__ == "__main__":
    main()
