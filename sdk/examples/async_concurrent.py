"""asyncio: two threads answered concurrently by one client.

python async_concurrent.py
"""

import asyncio

from openai_codex import AsyncCodex, CodexConfig


async def main() -> None:
    async with AsyncCodex(CodexConfig.from_env()) as codex:
        questions = ["Name a prime number.", "Name a colour."]
        threads = await asyncio.gather(*(codex.thread_start() for _ in questions))
        results = await asyncio.gather(*(t.run(q) for t, q in zip(threads, questions, strict=True)))
        for question, result in zip(questions, results, strict=True):
            print(f"{question} -> {result.final_response}")


asyncio.run(main())
