"""``python -m openai_codex doctor [--json]``: is this SDK able to work here?"""

from __future__ import annotations

import sys

from openai_codex._doctor import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
