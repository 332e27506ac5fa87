"""An in-process ledger with Hyperledger Fabric's semantics, for running Python chaincode unchanged.

Chaincode runs through the ordinary `fabric_shim.stub.ChaincodeStub`, whose requests are answered
by `TxSimulator` exactly as a LevelDB-backed peer answers them: no read-your-writes, read/write
sets with versions, MVCC and phantom validation at commit, history, events, private data, paginated
range queries. State, blocks and events are kept durably in SQLite. Generic: no chaincode knowledge.

    with EmbeddedLedger.open("./ledger") as ledger:
        ledger.install("mycc", MyChaincode())
        alice = ledger.identities.enroll("alice", "Org1MSP", {"role": "member"})
        ledger.submit(alice, "mycc", "put", ["k", "v"])

`install` also takes a `RemoteChaincode`: the ledger then dials a chaincode-as-a-service server and
answers its requests over gRPC exactly as a peer does.
"""

from embedded_ledger.blocks import Block, ChaincodeEventRecord, TransactionRecord
from embedded_ledger.identities import Identity, IdentityRegistry, LocalCA
from embedded_ledger.ledger import (
    ChaincodeNotFoundError,
    CommitError,
    EmbeddedLedger,
    EndorsedTransaction,
    EndorsementError,
)
from embedded_ledger.membership import ChannelMembership, IdentityError, Member
from embedded_ledger.proposal_validation import ProposalError, UnpackedProposal, unpack_proposal
from embedded_ledger.remote import ChaincodeConnectionError, RemoteChaincode, RemoteTLS
from embedded_ledger.runtime import ChaincodeRuntime, LocalChaincode
from embedded_ledger.rwset import Height, KeyWrite, RangeQueryRead, ReadWriteSet, StateKey
from embedded_ledger.simulator import TxSimulator

__all__ = [
    "Block",
    "ChaincodeConnectionError",
    "ChaincodeEventRecord",
    "ChaincodeNotFoundError",
    "ChaincodeRuntime",
    "ChannelMembership",
    "CommitError",
    "EmbeddedLedger",
    "EndorsedTransaction",
    "EndorsementError",
    "Height",
    "Identity",
    "IdentityError",
    "IdentityRegistry",
    "KeyWrite",
    "LocalCA",
    "LocalChaincode",
    "Member",
    "ProposalError",
    "RangeQueryRead",
    "ReadWriteSet",
    "RemoteChaincode",
    "RemoteTLS",
    "StateKey",
    "TransactionRecord",
    "TxSimulator",
    "UnpackedProposal",
    "unpack_proposal",
]
