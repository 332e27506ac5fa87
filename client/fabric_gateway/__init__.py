"""A generic client for Hyperledger Fabric's Gateway service (Fabric v2.4+).

The Python counterpart of the fabric-gateway client SDKs: connect to a peer as an identity, then
evaluate and submit transactions, wait for commits and listen to chaincode and block events. Every request can
also be signed offline: build it, sign its `digest()` elsewhere, and rebuild it with the signature.

Example::

    import fabric_gateway as fg

    identity, signer = fg.load_msp_directory("Org1MSP", "msp")
    with fg.connect("peer0:7051", identity, signer, tls_root_certs="tls-ca.pem") as gateway:
        contract = gateway.get_network("mychannel").get_contract("basic")
        contract.submit_transaction("CreateAsset", "asset1", "blue")
        print(contract.evaluate_transaction("ReadAsset", "asset1"))
"""

from fabric_gateway import signing
from fabric_gateway._client import MissingSignerError
from fabric_gateway.block_events import (
    BlockAndPrivateDataEventsRequest,
    BlockEvents,
    BlockEventsRequest,
    FilteredBlockEventsRequest,
)
from fabric_gateway.checkpointers import Checkpoint, FileCheckpointer, InMemoryCheckpointer
from fabric_gateway.commit import Commit, Status, SubmittedTransaction
from fabric_gateway.contract import Contract
from fabric_gateway.errors import (
    BlockEventsError,
    ChaincodeEventsError,
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    GatewayError,
    SubmitError,
)
from fabric_gateway.events import ChaincodeEvent, ChaincodeEvents, ChaincodeEventsRequest
from fabric_gateway.gateway import Gateway, connect
from fabric_gateway.identity import X509Identity, load_msp_directory
from fabric_gateway.network import Network
from fabric_gateway.proposal import Proposal, build_proposal, transaction_id
from fabric_gateway.signing import Hash, Signer, new_private_key_signer
from fabric_gateway.timeouts import Timeouts
from fabric_gateway.transaction import Transaction

__all__ = [
    "BlockAndPrivateDataEventsRequest",
    "BlockEvents",
    "BlockEventsError",
    "BlockEventsRequest",
    "ChaincodeEvent",
    "ChaincodeEvents",
    "ChaincodeEventsError",
    "ChaincodeEventsRequest",
    "Checkpoint",
    "Commit",
    "CommitError",
    "CommitStatusError",
    "Contract",
    "EndorseError",
    "ErrorDetail",
    "EvaluateError",
    "FileCheckpointer",
    "FilteredBlockEventsRequest",
    "Gateway",
    "GatewayError",
    "Hash",
    "InMemoryCheckpointer",
    "MissingSignerError",
    "Network",
    "Proposal",
    "Signer",
    "Status",
    "SubmitError",
    "SubmittedTransaction",
    "Timeouts",
    "Transaction",
    "X509Identity",
    "build_proposal",
    "connect",
    "load_msp_directory",
    "new_private_key_signer",
    "signing",
    "transaction_id",
]
