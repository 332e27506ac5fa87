"""The Go reference chaincode's `kvexecutor` and `null`, in Python on our shim's low-level interface.

The same arguments do the same ledger work as Fabric's `integration/chaincode/kvexecutor` (read every
key of the first list, write every pair of the second, return the reads as JSON), so the ratio of the
two throughputs on one network is the cost of the chaincode runtime alone. Run as
`python -m benchmarks.network.pychaincode kvexecutor|null`, configured like any chaincode server
(CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS, CHAINCODE_TLS_*).
"""

from __future__ import annotations

import base64
import json
import sys

from fabric_shim.chaincode import Response, error, success
from fabric_shim.server import run
from fabric_shim.stub import ChaincodeStub


def _kvs(argument: str) -> list[dict[str, str]]:
    decoded = json.loads(base64.b64decode(argument)) if argument else []
    return list(decoded or [])


class KVExecutor:
    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, args = stub.get_function_and_parameters()
        if function != "readWriteKVs":
            return error(f"unknown function {function}")
        if len(args) != 2:
            return error("readWriteKVs takes 2 arguments")
        try:
            reads, writes = _kvs(args[0]), _kvs(args[1])
        except ValueError as exc:
            return error(f"bad argument: {exc}")
        results = []
        for kv in reads:
            value = stub.get_state(kv["key"])
            results.append({"key": kv["key"], "value": (value or b"").decode("utf-8", "replace")})
        for kv in writes:
            stub.put_state(kv["key"], kv.get("value", "").encode("utf-8"))
        # Go's json.Marshal: no spaces.
        return success(json.dumps(results, separators=(",", ":")).encode("utf-8"))


class KVBatch(KVExecutor):
    """The reference's `kvbatch` (v3.1.5): every read in one GetMultipleStates. Writes need nothing
    here: our shim batches every transaction's writes itself when the peer offers it."""

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, args = stub.get_function_and_parameters()
        if function != "readWriteKVs" or len(args) != 2:
            return error("readWriteKVs takes 2 arguments")
        try:
            reads, writes = _kvs(args[0]), _kvs(args[1])
        except ValueError as exc:
            return error(f"bad argument: {exc}")
        values = stub.get_multiple_states([kv["key"] for kv in reads])
        results = [
            {"key": kv["key"], "value": (value or b"").decode("utf-8", "replace")}
            for kv, value in zip(reads, values, strict=True)
        ]
        for kv in writes:
            stub.put_state(kv["key"], kv.get("value", "").encode("utf-8"))
        return success(json.dumps(results, separators=(",", ":")).encode("utf-8"))


class Null:
    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        return success()


def main() -> None:
    chaincodes: dict[str, type[KVExecutor] | type[Null]] = {
        "kvexecutor": KVExecutor,
        "kvbatch": KVBatch,
        "null": Null,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in chaincodes:
        sys.exit("usage: python -m benchmarks.network.pychaincode kvexecutor|kvbatch|null")
    run(chaincodes[sys.argv[1]]())


if __name__ == "__main__":
    main()
