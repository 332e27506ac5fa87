"""Composite keys: Go's encoding, round trips and the characters it forbids."""

from __future__ import annotations

import pytest
from fabric_shim import keys
from hypothesis import given
from hypothesis import strategies as st

# Valid parts: any Unicode scalar value except U+0000 and U+10FFFF (surrogates are not valid UTF-8).
part = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=["\x00", "\U0010ffff"]))


@given(object_type=part, attributes=st.lists(part, max_size=6))
def test_create_split_round_trip(object_type: str, attributes: list[str]) -> None:
    key = keys.create_composite_key(object_type, attributes)
    assert key == "\x00" + "".join(p + "\x00" for p in [object_type, *attributes])
    assert keys.split_composite_key(key) == (object_type, attributes)
    assert keys.is_composite_key(key)


@given(
    object_type=part.filter(bool), attributes=st.lists(part, max_size=4), suffix=st.lists(part, max_size=3)
)
def test_partial_key_range_contains_every_extension(
    object_type: str, attributes: list[str], suffix: list[str]
) -> None:
    start, end = keys.partial_composite_key_range(object_type, attributes)
    full = keys.create_composite_key(object_type, attributes + suffix)
    # the peer compares keys as UTF-8 bytes, which orders like code points
    assert start.encode() <= full.encode() < end.encode()
    assert end == start + "\U0010ffff"


@given(
    before=part,
    bad=st.sampled_from(["\x00", "\U0010ffff", "\ud800", "\udfff"]),
    after=part,
    position=st.sampled_from(["type", "attribute"]),
)
def test_forbidden_characters_are_rejected(before: str, bad: str, after: str, position: str) -> None:
    poisoned = before + bad + after
    with pytest.raises(ValueError):
        if position == "type":
            keys.create_composite_key(poisoned, ["a"])
        else:
            keys.create_composite_key("t", ["a", poisoned])


@given(key=part)
def test_plain_keys_are_never_composite(key: str) -> None:
    keys.validate_simple_keys(key, "end")
    with pytest.raises(ValueError):
        keys.validate_simple_keys("\x00" + key)


def test_edge_cases_match_go() -> None:
    assert keys.create_composite_key("", []) == "\x00\x00"
    assert keys.create_composite_key("t", ["", ""]) == "\x00t\x00\x00\x00"
    assert keys.split_composite_key("\x00t\x00\x00\x00") == ("t", ["", ""])
    assert keys.split_composite_key("\x00t\x00a\x00trailing") == (
        "t",
        ["a"],
    )  # Go ignores the unterminated tail
    with pytest.raises(ValueError, match="object type"):
        keys.partial_composite_key_range("", ["a"])
    with pytest.raises(TypeError):
        keys.create_composite_key("t", "abc")  # type: ignore[arg-type]
    for not_composite in ("", "plain", "\x00unterminated"):
        with pytest.raises(ValueError):
            keys.split_composite_key(not_composite)
