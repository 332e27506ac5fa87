"""A Python shim for Hyperledger Fabric chaincode (chaincode-as-a-service).

Generic: nothing here knows about any particular chaincode. The layers, bottom up:
`server` (gRPC `protos.Chaincode` server) → `handler` (per-stream state machine) → `stub` (what a
chaincode calls; speaks only to a `PeerCalls`) → `contract` (typed transaction routing and metadata).
`cid` parses the caller's identity; `batching` holds what a v3.1 peer's READY offers (batched reads
and writes) and a transaction's write batch.
"""

from fabric_shim.batching import NO_BATCHING, PeerFeatures
from fabric_shim.calls import PeerCalls, PeerError, StreamClosedError
from fabric_shim.chaincode import Chaincode, Response, error, success
from fabric_shim.cid import ClientIdentity
from fabric_shim.config import ServerConfig, TLSConfig
from fabric_shim.iterators import KV, KeyModification, QueryPage
from fabric_shim.server import ChaincodeServer, run
from fabric_shim.stub import ChaincodeStub

__all__ = [
    "KV",
    "NO_BATCHING",
    "Chaincode",
    "ChaincodeServer",
    "ChaincodeStub",
    "ClientIdentity",
    "KeyModification",
    "PeerCalls",
    "PeerError",
    "PeerFeatures",
    "QueryPage",
    "Response",
    "ServerConfig",
    "StreamClosedError",
    "TLSConfig",
    "error",
    "run",
    "success",
]
