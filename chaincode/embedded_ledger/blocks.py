"""Committed blocks and what they record, plus the block hash chain.

A block's hash is computed as Fabric computes it: SHA-256 over the DER encoding of
SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }. The data hash is
our own digest of the block's transactions (the embedded ledger does not build Fabric envelopes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TransactionRecord:
    """One transaction as committed in a block, valid or not."""

    tx_id: str
    block_num: int
    tx_num: int
    validation_code: int  # fabric_protos.peer.transaction_pb2.TxValidationCode
    chaincode_name: str
    function: str
    creator_msp: str
    response_status: int
    timestamp: datetime

    @property
    def is_valid(self) -> bool:
        return self.validation_code == 0

    @property
    def validation_code_name(self) -> str:
        from fabric_protos.peer.transaction_pb2 import TxValidationCode

        return TxValidationCode.Name(self.validation_code)


@dataclass(frozen=True)
class Block:
    """A committed block: header fields and its transactions in order."""

    number: int
    hash: bytes
    previous_hash: bytes
    data_hash: bytes
    timestamp: datetime
    transactions: list[TransactionRecord] = field(default_factory=list)

    @property
    def validation_codes(self) -> list[int]:
        return [tx.validation_code for tx in self.transactions]


@dataclass(frozen=True)
class ChaincodeEventRecord:
    """The event a valid transaction emitted (at most one per transaction, as in Fabric)."""

    block_num: int
    tx_id: str
    chaincode_name: str
    name: str
    payload: bytes


def block_header_hash(number: int, previous_hash: bytes, data_hash: bytes) -> bytes:
    """Fabric's block hash: SHA-256 of the DER-encoded header triple."""
    body = _der_integer(number) + _der_octet_string(previous_hash) + _der_octet_string(data_hash)
    return hashlib.sha256(b"\x30" + _der_length(len(body)) + body).digest()


def data_hash(transaction_digests: list[bytes]) -> bytes:
    return hashlib.sha256(b"".join(transaction_digests)).digest()


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _der_integer(value: int) -> bytes:
    # Non-negative integers need a leading zero byte when the top bit is set.
    encoded = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_length(len(encoded)) + encoded


def _der_octet_string(value: bytes) -> bytes:
    return b"\x04" + _der_length(len(value)) + value
