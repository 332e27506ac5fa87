"""Writing the coin's world state directly, as no coin transaction would: broken or old ledgers.

The embedded ledger keeps state per chaincode name, so a raw writer installed under the coin's name
for one transaction writes into the coin's namespace (as an upgrade to other code would), and the
coin contract is installed again right after. What it writes goes through a real endorsement and
a real block, like any transaction.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from coin_network import CHAINCODE, CoinNetwork
from fabric_shim.chaincode import Response, error, success
from fabric_shim.contract import ContractChaincode
from fabric_shim.stub import ChaincodeStub


class _RawWriter:
    """Puts (or, for a null value, deletes) the keys of its one JSON argument."""

    def init(self, stub: ChaincodeStub) -> Response:
        return success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        function, params = stub.get_function_and_parameters()
        if function != "write":
            return error(f"unknown function {function}", 404)
        for key, value in json.loads(params[0]).items():
            if value is None:
                stub.del_state(key)
            else:
                stub.put_state(key, value.encode("utf-8"))
        return success()


def write_raw(net: CoinNetwork, writes: dict[str, Any]) -> None:
    """Commit `writes` (key -> JSON-able value, or None to delete) into the coin's world state."""
    assert net.contract is not None, "only an in-process contract can be put back afterwards"
    encoded = {k: None if v is None else json.dumps(v, separators=(",", ":")) for k, v in writes.items()}
    net.ledger.install(CHAINCODE, _RawWriter())
    try:
        net.submit("admin", "write", json.dumps(encoded))
    finally:
        net.ledger.install(CHAINCODE, ContractChaincode(net.contract))


def read_raw(net: CoinNetwork, key: str) -> Any:
    """The committed JSON value of `key` (None when absent)."""
    found = net.ledger.world_state(CHAINCODE).get(key)
    return None if found is None else json.loads(found.value)


def keys_of(net: CoinNetwork, object_type: str) -> list[str]:
    """The committed composite keys of `object_type`, in key order."""
    prefix = f"\x00{object_type}\x00"
    return sorted(k for k in net.ledger.world_state(CHAINCODE) if k.startswith(prefix))


def cid(name: str) -> str:
    """The client id of a certificate for `name` that nobody holds (all a registration needs)."""
    return base64.b64encode(f"x509::CN={name}::CN=ca.seocho".encode()).decode()
