"""`records.encode` writes exactly the bytes of `json.dumps(dataclasses.asdict(record))`, sorted and compact:
every endorser (and every older chaincode) must write byte-identical values."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seocho_coin import records

RECORD_CLASSES = [
    cls for cls in vars(records).values() if isinstance(cls, type) and dataclasses.is_dataclass(cls)
]


def asdict_encoding(value: Any) -> bytes:
    plain = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("cls", RECORD_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_record_encodes_as_its_asdict(cls: type, data: st.DataObject) -> None:
    record = data.draw(st.from_type(cls))
    assert records.encode(record) == asdict_encoding(record)


def test_plain_values_and_nested_records_encode_the_same() -> None:
    nested = {"b": [records.Tally(members=1, categories={"é": 2})], "a": (1, 2)}
    assert records.encode(nested) == asdict_encoding(
        {"b": [dataclasses.asdict(nested["b"][0])], "a": [1, 2]}  # type: ignore[index]
    )
    with pytest.raises(TypeError):
        records.encode(object())
