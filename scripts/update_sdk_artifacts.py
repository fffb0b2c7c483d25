#!/usr/bin/env python3
"""Maintainer entry point: the same CLI as `codex-release` (e.g. `python scripts/update_sdk_artifacts.py stage-sdk ...`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))

from codex_release.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
