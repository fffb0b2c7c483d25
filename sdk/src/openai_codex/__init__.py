"""Python SDK for Codex."""
