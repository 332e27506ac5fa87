"""Arguments arrive as bytes and results leave as bytes; this maps them to and from Python types.

Results are encoded deterministically (sorted keys, no spaces) because every endorsing peer must produce
byte-identical responses for the endorsements to match.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
from typing import Any, Union, get_args, get_origin

_INTEGER = re.compile(r"-?[0-9]{1,40}")


class ConversionError(ValueError):
    """An argument does not parse as its declared type."""


def _optional_inner(annotation: Any) -> Any | None:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(get_args(annotation)) == 2:
            return members[0]
    return None


def decode_argument(raw: bytes, annotation: Any) -> Any:
    """Convert one raw argument to `annotation` (str, int, float, bool, bytes, dict, list, Optional)."""
    inner = _optional_inner(annotation)
    if inner is not None:
        return None if raw == b"" else decode_argument(raw, inner)
    if annotation is bytes:
        return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConversionError("is not valid UTF-8") from None
    if annotation is str or annotation is Any:
        return text
    if annotation is bool:
        if text not in ("true", "false"):
            raise ConversionError(f"expected true or false, got {_preview(text)}")
        return text == "true"
    if annotation is int:
        if not _INTEGER.fullmatch(text):
            raise ConversionError(f"expected an integer, got {_preview(text)}")
        return int(text)
    if annotation is float:
        try:
            number = float(text)
        except ValueError:
            raise ConversionError(f"expected a number, got {_preview(text)}") from None
        if not math.isfinite(number):
            raise ConversionError("expected a finite number")
        return number
    origin = get_origin(annotation) or annotation
    if origin in (dict, list):
        value = _parse_json(text)
        _check_json_shape(value, annotation)
        return value
    raise ConversionError(f"unsupported parameter type {annotation!r}")


def _parse_json(text: str) -> Any:
    """Strict JSON: every way `json.loads` can fail on caller input is a `ConversionError`.

    Beyond a bare `JSONDecodeError` and deep nesting (`RecursionError`), `json.loads` raises a
    plain `ValueError` for an integer longer than Python's int conversion limit (4,300 digits by
    default) and accepts NaN, Infinity and numbers beyond a double's range as floats, which JSON
    (RFC 8259) does not have and deterministic results cannot encode. It also decodes an unpaired
    surrogate escape ("\\ud800") into a string that no UTF-8 encoder (a state write, a result)
    accepts later.
    """
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        _require_unicode_strings(value)
        return value
    except ConversionError:
        raise
    except json.JSONDecodeError as exc:
        raise ConversionError(f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:
        raise ConversionError("is nested too deeply") from None
    except ValueError:
        raise ConversionError("holds a number too large to convert") from None


def _require_unicode_strings(value: Any) -> None:
    """Every string (object keys too) must encode as UTF-8; walked without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ConversionError(
                    "holds a string with an unpaired surrogate (not Unicode text)"
                ) from None


def _reject_constant(name: str) -> Any:
    raise ConversionError(f"holds {name}, which is not finite (and not JSON)")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ConversionError(f"holds {_preview(text)}, which is not finite as a double")
    return number


def _check_json_shape(value: Any, annotation: Any) -> None:
    origin = get_origin(annotation) or annotation
    args = get_args(annotation)
    if origin is list:
        if not isinstance(value, list):
            raise ConversionError("expected a JSON array")
        if args:
            for item in value:
                _check_json_item(item, args[0])
    elif origin is dict:
        if not isinstance(value, dict):
            raise ConversionError("expected a JSON object")
        if len(args) == 2:
            for item in value.values():
                _check_json_item(item, args[1])


def _check_json_item(item: Any, annotation: Any) -> None:
    if annotation is Any:
        return
    if annotation is int:
        ok = isinstance(item, int) and not isinstance(item, bool)
    elif annotation is float:
        ok = isinstance(item, int | float) and not isinstance(item, bool)
    elif annotation in (str, bool):
        ok = isinstance(item, annotation)
    else:
        _check_json_shape(item, annotation)
        return
    if not ok:
        raise ConversionError(f"expected items of type {annotation.__name__}")


def _preview(text: str, limit: int = 32) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def encode_result(value: Any) -> bytes:
    """Encode a transaction function's return value as the response payload."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a parameter or return type, for the contract metadata."""
    inner = _optional_inner(annotation)
    if inner is not None:
        return json_schema(inner)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    if annotation is bytes:
        return {"type": "string", "format": "byte"}
    origin = get_origin(annotation) or annotation
    args = get_args(annotation)
    if origin is list:
        return {"type": "array", "items": json_schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        schema: dict[str, Any] = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = json_schema(args[1])
        return schema
    return {}
