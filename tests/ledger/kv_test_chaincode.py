"""A tiny generic chaincode for the embedded-ledger tests, written against the ordinary stub."""

from __future__ import annotations

import json
from collections.abc import Callable

from fabric_shim.chaincode import Response, error, success
from fabric_shim.stub import ChaincodeStub

CHAINCODE = "kv"


class KeyValueChaincode:
    """Functions named after what they do to the ledger; arguments are plain strings."""

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, params = stub.get_function_and_parameters()
        handler: Callable[[ChaincodeStub, list[str]], Response] | None = getattr(self, f"fn_{function}", None)
        if handler is None:
            return error(f"unknown function {function}", 404)
        return handler(stub, params)

    def fn_put(self, stub: ChaincodeStub, params: list[str]) -> Response:
        for key, value in zip(params[::2], params[1::2], strict=True):
            stub.put_state(key, value.encode())
        return success()

    def fn_get(self, stub: ChaincodeStub, params: list[str]) -> Response:
        return success(stub.get_state(params[0]) or b"")

    def fn_put_then_get(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.put_state(params[0], params[1].encode())
        value = stub.get_state(params[0])
        return success(b"<absent>" if value is None else value)

    def fn_delete(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.del_state(params[0])
        return success()

    def fn_increment(self, stub: ChaincodeStub, params: list[str]) -> Response:
        current = int(stub.get_state(params[0]) or b"0")
        stub.put_state(params[0], str(current + 1).encode())
        return success(str(current + 1).encode())

    def fn_range(self, stub: ChaincodeStub, params: list[str]) -> Response:
        with stub.get_state_by_range(params[0], params[1]) as results:
            return success(json.dumps([kv.key for kv in results]).encode())

    def fn_count_range_then_put(self, stub: ChaincodeStub, params: list[str]) -> Response:
        with stub.get_state_by_range(params[0], params[1]) as results:
            count = sum(1 for _ in results)
        stub.put_state(params[2], str(count).encode())
        return success(str(count).encode())

    def fn_page(self, stub: ChaincodeStub, params: list[str]) -> Response:
        start, end, size, bookmark = params
        iterator, page = stub.get_state_by_range_with_pagination(start, end, int(size), bookmark)
        with iterator:
            keys = [kv.key for kv in iterator]
        return success(
            json.dumps(
                {"keys": keys, "bookmark": page.bookmark, "count": page.fetched_records_count}
            ).encode()
        )

    def fn_history(self, stub: ChaincodeStub, params: list[str]) -> Response:
        with stub.get_history_for_key(params[0]) as history:
            entries = [
                {"tx_id": m.tx_id, "value": m.value.decode(), "is_delete": m.is_delete} for m in history
            ]
        return success(json.dumps(entries).encode())

    def fn_emit(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.put_state(params[0], b"emitted")
        stub.set_event(params[1], params[2].encode())
        return success()

    def fn_put_private(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.put_private_data(params[0], params[1], stub.transient["value"])
        return success()

    def fn_get_private(self, stub: ChaincodeStub, params: list[str]) -> Response:
        value = stub.get_private_data(params[0], params[1])
        digest = stub.get_private_data_hash(params[0], params[1])
        return success(json.dumps({"value": (value or b"").decode(), "hash": (digest or b"").hex()}).encode())

    def fn_purge_private(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.purge_private_data(params[0], params[1])
        return success()

    def fn_set_ep(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.set_state_validation_parameter(params[0], params[1].encode())
        return success()

    def fn_get_ep(self, stub: ChaincodeStub, params: list[str]) -> Response:
        return success(stub.get_state_validation_parameter(params[0]) or b"")

    def fn_rich(self, stub: ChaincodeStub, params: list[str]) -> Response:
        with stub.get_query_result(params[0]) as results:
            return success(str(sum(1 for _ in results)).encode())

    def fn_call(self, stub: ChaincodeStub, params: list[str]) -> Response:
        return stub.invoke_chaincode(params[0], [p.encode() for p in params[1:]])

    def fn_whoami(self, stub: ChaincodeStub, params: list[str]) -> Response:
        return success(json.dumps({"tx_id": stub.tx_id, "creator": stub.creator.hex()}).encode())

    def fn_fail(self, stub: ChaincodeStub, params: list[str]) -> Response:
        stub.put_state("failed-write", b"x")
        return error("refused", 403)

    def fn_crash(self, stub: ChaincodeStub, params: list[str]) -> Response:
        raise RuntimeError("secret internal detail")
