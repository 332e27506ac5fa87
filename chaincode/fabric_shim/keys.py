"""Composite keys and key validation, byte-for-byte as the Go shim builds them.

A composite key is ``"\\x00" + objectType + "\\x00" + attr1 + "\\x00" + ...``. The leading U+0000
puts composite keys in their own namespace: plain keys may not start with it, and a plain range
query with an empty start key begins at U+0001 so it never returns composite keys. A range over a
partial composite key ends at the prefix + U+10FFFF, the largest code point.
"""

from __future__ import annotations

from collections.abc import Sequence

COMPOSITE_KEY_NAMESPACE = "\x00"
MIN_UNICODE_RUNE = "\x00"
MAX_UNICODE_RUNE = "\U0010ffff"
EMPTY_KEY_SUBSTITUTE = "\x01"


def validate_composite_key_attribute(value: str) -> None:
    """Reject what cannot appear in a composite key part: invalid UTF-8, U+0000 and U+10FFFF."""
    if not isinstance(value, str):
        raise TypeError(f"composite key parts must be str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate cannot be encoded as UTF-8; Go rejects the same input as invalid UTF-8.
        raise ValueError(f"not a valid UTF-8 string at position {exc.start}") from None
    if MIN_UNICODE_RUNE in value or MAX_UNICODE_RUNE in value:  # a C-speed scan: most parts are fine
        index = min(i for i in (value.find(MIN_UNICODE_RUNE), value.find(MAX_UNICODE_RUNE)) if i >= 0)
        raise ValueError(
            f"input contains U+{ord(value[index]):04X} at position {index}; U+0000 and U+10FFFF are not "
            "allowed in a composite key part"
        )


def create_composite_key(object_type: str, attributes: Sequence[str]) -> str:
    """Build the composite key for `object_type` and `attributes` (Go's `CreateCompositeKey`)."""
    if isinstance(attributes, str):
        raise TypeError("attributes must be a sequence of str, not a single str")
    validate_composite_key_attribute(object_type)
    parts = [COMPOSITE_KEY_NAMESPACE, object_type, MIN_UNICODE_RUNE]
    for attribute in attributes:
        validate_composite_key_attribute(attribute)
        parts.append(attribute)
        parts.append(MIN_UNICODE_RUNE)
    return "".join(parts)


def split_composite_key(key: str) -> tuple[str, list[str]]:
    """Return (object_type, attributes) of a key made by `create_composite_key`.

    Raises `ValueError` for a key that is not a composite key (Go would panic on it).
    """
    if not key.startswith(COMPOSITE_KEY_NAMESPACE) or MIN_UNICODE_RUNE not in key[1:]:
        raise ValueError("not a composite key")
    # Everything after the last separator is ignored, exactly like Go's byte scan.
    components = key[1:].split(MIN_UNICODE_RUNE)[:-1]
    return components[0], components[1:]


def is_composite_key(key: str) -> bool:
    """True when `key` lives in the composite-key namespace."""
    return key.startswith(COMPOSITE_KEY_NAMESPACE)


def validate_simple_keys(*keys: str) -> None:
    """Plain keys must not start with U+0000, which is reserved for composite keys."""
    for key in keys:
        if key.startswith(COMPOSITE_KEY_NAMESPACE):
            raise ValueError("the first character of a plain key must not be U+0000")


def partial_composite_key_range(object_type: str, attributes: Sequence[str]) -> tuple[str, str]:
    """Start and end key of a range over all composite keys beginning with the given parts.

    Stricter than Go, which accepts an empty object type (and then matches only keys whose object
    type is empty): here it is almost always a mistake for "all composite keys", so it is refused.
    """
    if not object_type:
        raise ValueError("object type must not be empty for a partial composite key query")
    start = create_composite_key(object_type, attributes)
    return start, start + MAX_UNICODE_RUNE
