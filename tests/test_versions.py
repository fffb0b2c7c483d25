from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from codex_release.core.versions import CodexVersion, parse_codex_version
from codex_release.errors import InputRefused, ReleaseError


@pytest.mark.parametrize(
    ("text", "pep440", "tag"),
    [
        ("rust-v0.163.0", "0.163.0", "rust-v0.163.0"),
        ("v0.163.0", "0.163.0", "rust-v0.163.0"),
        ("0.163.0", "0.163.0", "rust-v0.163.0"),
        ("rust-v0.154.0-alpha.1", "0.154.0a1", "rust-v0.154.0-alpha.1"),
        ("0.154.0-alpha.1.2", "0.154.0a1.post2", "rust-v0.154.0-alpha.1.2"),
        ("rust-v1.2.3-beta.4", "1.2.3b4", "rust-v1.2.3-beta.4"),
        ("1.2.3-rc.5", "1.2.3rc5", "rust-v1.2.3-rc.5"),
        ("0.154.0a1", "0.154.0a1", "rust-v0.154.0-alpha.1"),
        ("0.154.0a1.post2", "0.154.0a1.post2", "rust-v0.154.0-alpha.1.2"),
        ("0.154.0-alpha1", None, None),
        (" rust-v0.169.0 ", "0.169.0", "rust-v0.169.0"),
    ],
)
def test_known_spellings(text: str, pep440: str | None, tag: str | None) -> None:
    if pep440 is None:
        with pytest.raises(InputRefused):
            parse_codex_version(text)
        return
    version = parse_codex_version(text)
    assert version.pep440 == pep440
    assert version.tag == tag
    assert str(version) == pep440


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("rust-v1.2", "malformed Codex release tag 'rust-v1.2'"),
        ("1.2.3-alpha", "malformed Codex release tag"),
        ("latest", "not a Codex version: 'latest'"),
        ("", "empty Codex version"),
        ("   ", "empty Codex version"),
        ("1.2.3.post1", "only pre-releases have hotfix"),
        ("1.2", "exactly three release numbers"),
        ("1.2.3.dev1", "dev and local versions"),
        ("1!1.2.3", "epoch"),
        ("rust-v1.2.3-gamma.1", "malformed"),
    ],
)
def test_garbage_is_a_clear_one_line_error(text: str, fragment: str) -> None:
    with pytest.raises(InputRefused) as info:
        parse_codex_version(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert "rust-v0.169.0" in message or "no Codex tag form" in message


_numbers = st.integers(min_value=0, max_value=10_000)
_pre = st.sampled_from(["alpha", "beta", "rc"])


@st.composite
def codex_tags(draw: st.DrawFn) -> str:
    release = ".".join(str(draw(_numbers)) for _ in range(3))
    tag = f"rust-v{release}"
    if draw(st.booleans()):
        tag += f"-{draw(_pre)}.{draw(_numbers)}"
        if draw(st.booleans()):
            tag += f".{draw(_numbers)}"
    return tag


@given(codex_tags())
def test_tag_round_trip(tag: str) -> None:
    version = parse_codex_version(tag)
    assert version.tag == tag
    assert parse_codex_version(version.pep440) == version
    assert parse_codex_version(version.semver) == version
    assert parse_codex_version(tag.removeprefix("rust-")) == version
    assert Version(version.pep440) == version.version


@given(codex_tags(), codex_tags())
def test_order_follows_pep440(a: str, b: str) -> None:
    va, vb = parse_codex_version(a), parse_codex_version(b)
    assert (va < vb) == (Version(va.pep440) < Version(vb.pep440))


@given(st.text(max_size=30))
def test_any_text_maps_or_raises_release_error(text: str) -> None:
    try:
        version = parse_codex_version(text)
    except ReleaseError as exc:
        message = str(exc)
    else:
        assert isinstance(version, CodexVersion)
        assert parse_codex_version(version.tag) == version
        return
    assert "\n" not in message
