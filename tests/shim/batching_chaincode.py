"""A chaincode exercising batched and single ledger calls, run on a real peer and on the embedded ledger.

`features` says what the peer offered in READY; `seed` writes `count` keys; `mixed` reads and writes as a
coin movement would (multi-key read, rewrites, a delete, a range); `write_then_page` writes then runs a
paginated query (a peer refuses that query after a write, batched or not); `wide` reads and writes more
keys than one batched message may carry.
"""

from __future__ import annotations

import json
from typing import Any

from fabric_shim.chaincode import Response, error, success
from fabric_shim.stub import ChaincodeStub


def _text(values: list[bytes | None]) -> list[str | None]:
    return [None if v is None else v.decode() for v in values]


class BatchingChaincode:
    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, params = stub.get_function_and_parameters()
        handler = getattr(self, f"fn_{function}", None)
        if handler is None:
            return error(f"unknown function {function}", 404)
        return success(json.dumps(handler(stub, params)).encode())

    def fn_features(self, stub: ChaincodeStub, params: list[str]) -> Any:
        features = stub.features
        return {
            "write_batch": features.write_batch,
            "max_write_batch": features.max_write_batch,
            "get_multiple_keys": features.get_multiple_keys,
            "max_get_multiple_keys": features.max_get_multiple_keys,
        }

    def fn_seed(self, stub: ChaincodeStub, params: list[str]) -> Any:
        for i in range(int(params[0])):
            stub.put_state(f"k{i:04}", f"v{i}".encode())
        return None

    def fn_mixed(self, stub: ChaincodeStub, params: list[str]) -> Any:
        values = stub.get_multiple_states(["k0001", "absent", "k0003", "k0001"])
        stub.put_state("k0001", b"new")
        after = stub.get_state("k0001")  # the committed value: a peer gives no read-your-writes
        stub.del_state("k0002")
        stub.put_state("k9999", b"nine")
        stub.put_state("k9999", b"nine again")
        with stub.get_state_by_range("k0003", "k0006") as rows:
            seen = [row.key for row in rows]
        return [_text(values), (after or b"").decode(), seen]

    def fn_write_then_page(self, stub: ChaincodeStub, params: list[str]) -> Any:
        stub.put_state("k0000", b"changed")
        try:
            stub.get_state_by_range_with_pagination("k0000", "k0009", 2)
        except Exception as exc:  # the peer's refusal reaches the chaincode, which carries on
            return "refused: " + ("read-only" in str(exc)).__str__()
        return "allowed"

    def fn_wide(self, stub: ChaincodeStub, params: list[str]) -> Any:
        count = int(params[0])
        keys = [f"k{i:04}" for i in range(count)]
        values = stub.get_multiple_states(keys)
        for key in keys:
            stub.put_state(key, b"wide")
        return sum(v is not None for v in values)


def new_chaincode() -> BatchingChaincode:
    return BatchingChaincode()
