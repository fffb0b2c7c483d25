"""The error types (codex_release.errors): the kinds under ReleaseError, one line at the boundary, verbatim
messages, and every raise site choosing a kind."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from codex_release import errors
from codex_release.checks.verify_index import IndexLag
from codex_release.cli import main
from codex_release.errors import (
    ArchiveRefused,
    DestinationRefused,
    FaultFound,
    InputRefused,
    ReleaseError,
    ToolFailed,
    Unsupported,
    one_line,
    squeezed,
)
from codex_release.processes import ChildTimeout

KINDS: tuple[type[ReleaseError], ...] = (
    InputRefused,
    ArchiveRefused,
    DestinationRefused,
    ToolFailed,
    FaultFound,
    Unsupported,
)
PACKAGE = Path(errors.__file__).parent


def test_every_kind_is_a_release_error_with_a_docstring() -> None:
    assert len(set(KINDS)) == len(KINDS)
    for kind in KINDS:
        assert issubclass(kind, ReleaseError)
        assert kind.__bases__ == (ReleaseError,)
        assert kind.__doc__
        assert len(kind.__doc__.split()) > 10
        assert kind.__name__ in errors.__all__
    for one in KINDS:
        for other in KINDS:
            assert issubclass(one, other) == (one is other)


def test_the_narrower_kinds_sit_under_theirs() -> None:
    assert issubclass(ChildTimeout, ToolFailed)
    assert issubclass(IndexLag, FaultFound)


def test_a_message_is_kept_verbatim_but_one_line() -> None:
    assert str(DestinationRefused("--out out/my  dir is not empty")) == "--out out/my  dir is not empty"
    assert str(InputRefused("  leading and trailing  ")) == "  leading and trailing  "
    broken = ToolFailed("npm failed:\nnpm error 404\r\nnot found\u2028end")
    assert str(broken) == "npm failed: npm error 404 not found end"
    assert one_line("a\n\nb") == "a  b"
    assert squeezed(ValueError("Expected end\n    foo bar\n        ^")) == "Expected end foo bar ^"


@pytest.fixture
def boom() -> Iterator[list[BaseException]]:
    """A ``boom`` command on the real group that raises what the test puts in the list."""
    raised: list[BaseException] = []

    @click.command("boom")
    def command() -> None:
        raise raised[0]

    main.add_command(command)
    try:
        yield raised
    finally:
        main.commands.pop("boom")


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_the_boundary_prints_one_line_for_each_kind(boom: list[BaseException], kind: type[ReleaseError]) -> None:
    boom.append(kind(f"a {kind.__name__} in out/my  dir:\nfix it"))
    assert _invoke("boom") == (1, "", f"Error: a {kind.__name__} in out/my  dir: fix it\n")


def test_two_spaces_in_a_path_reach_the_user_verbatim(tmp_path: Path) -> None:
    source = tmp_path / "my  dir" / "missing"
    source.parent.mkdir()
    code, out, err = _invoke("stage-runtime", str(tmp_path / "stage"), str(source), "--codex-version", "0.169.0")
    assert (code, out) == (1, "")
    assert err == f"Error: SOURCE {source} does not exist: pass a codex binary, a platform package or its .tgz\n"
    assert not (tmp_path / "stage").exists()


def _bare_uses(tree: ast.AST) -> Iterator[ast.AST]:
    """Uses of the name ``ReleaseError`` that make or raise one: anything but an ``except`` clause, an
    ``isinstance`` check, an annotation or a type alias."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            allowed.update(id(n) for n in ast.walk(node.type))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            allowed.update(id(n) for n in ast.walk(node.args[1]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations = [a.annotation for a in (*node.args.args, *node.args.kwonlyargs) if a.annotation]
            for annotation in (*annotations, node.returns):
                if annotation is not None:
                    allowed.update(id(n) for n in ast.walk(annotation))
        elif isinstance(node, ast.AnnAssign):
            allowed.update(id(n) for n in ast.walk(node.annotation))
        elif isinstance(node, ast.Subscript):  # dict[..., Facts | ReleaseError]: a type alias
            allowed.update(id(n) for n in ast.walk(node.slice))
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name == "ReleaseError" and isinstance(node.ctx, ast.Load) and id(node) not in allowed:
            yield node


def test_no_module_raises_a_bare_release_error() -> None:
    """A new raise site must choose a kind (the docstrings in codex_release.errors say which)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "errors.py":
            continue
        for node in _bare_uses(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}")
    assert found == []


def test_the_scan_sees_a_bare_release_error() -> None:
    bare = """
from codex_release.errors import ReleaseError
from codex_release import errors
def f(x: ReleaseError | None) -> ReleaseError:
    try:
        pass
    except (ReleaseError, OSError):
        raise ReleaseError("made here")
    if isinstance(x, ReleaseError):
        raise errors.ReleaseError("and here")
    kind = ReleaseError
    return ReleaseError("and here")
"""
    lines = sorted(getattr(node, "lineno", 0) for node in _bare_uses(ast.parse(bare)))
    assert lines == [8, 10, 11, 12]
