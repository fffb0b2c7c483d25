"""``python -m codex_cli_bin ARGS``: run the bundled codex with ARGS."""

from __future__ import annotations

import os
import subprocess
import sys

from codex_cli_bin import BundledRuntimeError, bundled_codex_path, bundled_env


def main() -> int:
    try:
        codex = bundled_codex_path()
    except BundledRuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    argv = [str(codex), *sys.argv[1:]]
    env = bundled_env()
    if sys.platform == "win32":
        return subprocess.call(argv, env=env)
    os.execve(argv[0], argv, env)  # replaces this process; never returns
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
