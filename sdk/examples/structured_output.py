"""Ask for JSON that follows a schema (``output_schema``) and parse the answer.

python structured_output.py
"""

import json

from openai_codex import Codex, CodexConfig

SCHEMA = {
    "type": "object",
    "properties": {"language": {"type": "string"}, "files": {"type": "integer"}},
    "required": ["language", "files"],
    "additionalProperties": False,
}

with Codex(CodexConfig.from_env()) as codex:
    thread = codex.thread_start(sandbox="read-only")
    result = thread.run(
        "Which language is this project written in, and how many files does it have?", output_schema=SCHEMA
    )
    answer = json.loads(result.final_response or "{}")
    print(f"language={answer['language']} files={answer['files']}")
