"""The embedded ledger end to end: chaincode through the real stub, durability, history, events."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from embedded_ledger import ChaincodeNotFoundError, EmbeddedLedger, Identity
from embedded_ledger.blocks import block_header_hash
from hypothesis import given, settings
from hypothesis import strategies as st
from kv_test_chaincode import CHAINCODE, KeyValueChaincode


def test_chaincode_sees_no_read_your_writes(ledger: EmbeddedLedger, alice: Identity) -> None:
    assert ledger.evaluate(alice, CHAINCODE, "put_then_get", ["k", "v"]).payload == b"<absent>"
    ledger.submit(alice, CHAINCODE, "put", ["k", "old"])
    assert ledger.evaluate(alice, CHAINCODE, "put_then_get", ["k", "new"]).payload == b"old"


def test_evaluate_never_commits(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.evaluate(alice, CHAINCODE, "put", ["k", "v"])
    assert ledger.evaluate(alice, CHAINCODE, "get", ["k"]).payload == b""
    assert ledger.height == 1


def test_history_newest_first_with_deletes(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.submit(alice, CHAINCODE, "put", ["h", "1"])
    ledger.submit(alice, CHAINCODE, "delete", ["h"])
    ledger.submit(alice, CHAINCODE, "put", ["h", "3"])
    history = json.loads(ledger.evaluate(alice, CHAINCODE, "history", ["h"]).payload)
    assert [(e["value"], e["is_delete"]) for e in history] == [("3", False), ("", True), ("1", False)]
    blocks = [ledger.get_block(n).transactions[0].tx_id for n in (3, 2, 1)]
    assert [e["tx_id"] for e in history] == blocks


def test_range_in_byte_order_excludes_composite_keys(ledger: EmbeddedLedger, alice: Identity) -> None:
    keys = ["b", "a", "é", "Z", "\x00composite\x00x\x00", "~"]
    ledger.submit(alice, CHAINCODE, "put", [part for key in keys for part in (key, "v")])
    listed = json.loads(ledger.evaluate(alice, CHAINCODE, "range", ["", ""]).payload)
    assert listed == sorted((k for k in keys if not k.startswith("\x00")), key=lambda k: k.encode())


def test_events_only_from_valid_transactions_and_from_a_block(
    ledger: EmbeddedLedger, alice: Identity
) -> None:
    ledger.submit(alice, CHAINCODE, "emit", ["k1", "Created", "one"])
    ledger.submit(alice, CHAINCODE, "emit", ["k2", "Created", "two"])
    events = list(ledger.chaincode_events(CHAINCODE))
    assert [(e.block_num, e.name, e.payload) for e in events] == [
        (1, "Created", b"one"),
        (2, "Created", b"two"),
    ]
    assert [e.payload for e in ledger.chaincode_events(CHAINCODE, start_block=2)] == [b"two"]
    assert list(ledger.chaincode_events("another")) == []


def test_block_hash_chain(ledger: EmbeddedLedger, alice: Identity) -> None:
    for i in range(3):
        ledger.submit(alice, CHAINCODE, "put", ["k", str(i)])
    previous = b""
    for number in range(ledger.height):
        block = ledger.get_block(number)
        assert block.previous_hash == previous
        assert block.hash == block_header_hash(number, block.previous_hash, block.data_hash)
        previous = block.hash
    with pytest.raises(IndexError):
        ledger.get_block(ledger.height)


# Known answers from Fabric's own encoding (protoutil.BlockHeaderHash: SHA-256 of Go's asn1.Marshal of
# {Number *big.Int, PreviousHash, DataHash}), computed with Go; they cover the DER edge cases: an
# empty hash, numbers that need a leading zero byte (128, 2**63) and a long-form length (200 bytes).
GO_BLOCK_HEADER_HASHES = [
    (0, b"", b"\xab" * 32, "ccf29ccd7b79eabf632695ab73a911dd0e86758806f36fcc4dc690225ab2a5a2"),
    (127, b"\x01" * 32, b"\x02" * 32, "d65f891abeeabe724b6892bf38cb1330454555f523b3eb88f5c7041030627fd0"),
    (128, b"\xff" * 32, b"\x00" * 32, "ccbb17a29fd60f4283a8cacf52fbd909f7a276b44e084d743bf7a0bdf25353e2"),
    (65535, b"\x11" * 32, b"\x22" * 32, "ce5cdefd9bd469e9f4bfc09ab3fc0d1bdcafca845c268906c4960927ec8a3782"),
    (2**63, b"\x33" * 200, b"\x44" * 32, "fe50c8a20cae159252437e55d44ff4d85194b4a046955569f5af38f049e49817"),
]


@pytest.mark.parametrize(
    ("number", "previous_hash", "data_hash", "expected"),
    GO_BLOCK_HEADER_HASHES,
    ids=[f"block-{case[0]}" for case in GO_BLOCK_HEADER_HASHES],
)
def test_block_header_hash_matches_fabric(
    number: int, previous_hash: bytes, data_hash: bytes, expected: str
) -> None:
    assert block_header_hash(number, previous_hash, data_hash).hex() == expected


def test_durable_across_reopen(tmp_path: Path) -> None:
    with EmbeddedLedger.open(tmp_path / "ledger") as ledger:
        ledger.install(CHAINCODE, KeyValueChaincode())
        bob = ledger.identities.enroll("bob", "Org2MSP", {"district": "seocho"})
        ledger.submit(bob, CHAINCODE, "emit", ["k", "Evt", "payload"])
        tx_block = ledger.get_block(1)
    with EmbeddedLedger.open(tmp_path / "ledger") as reopened:
        reopened.install(CHAINCODE, KeyValueChaincode())
        bob_again = reopened.identities.get("bob")
        assert bob_again.certificate_pem == bob.certificate_pem
        assert reopened.evaluate(bob_again, CHAINCODE, "get", ["k"]).payload == b"emitted"
        assert reopened.height == 2 and reopened.get_block(1) == tx_block
        assert [e.payload for e in reopened.chaincode_events(CHAINCODE)] == [b"payload"]
        status = reopened.transaction_status(tx_block.transactions[0].tx_id)
        assert status is not None and status.is_valid and status.creator_msp == "Org2MSP"


def test_private_data_from_transient_and_purge(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.submit(alice, CHAINCODE, "put_private", ["secret", "p"], transient={"value": b"hidden"})
    seen = json.loads(ledger.evaluate(alice, CHAINCODE, "get_private", ["secret", "p"]).payload)
    assert seen == {"value": "hidden", "hash": hashlib.sha256(b"hidden").hexdigest()}
    assert ledger.evaluate(alice, CHAINCODE, "get", ["p"]).payload == b""  # not in public state
    history = json.loads(ledger.evaluate(alice, CHAINCODE, "history", ["p"]).payload)
    assert history == []
    ledger.submit(alice, CHAINCODE, "purge_private", ["secret", "p"])
    gone = json.loads(ledger.evaluate(alice, CHAINCODE, "get_private", ["secret", "p"]).payload)
    assert gone == {"value": "", "hash": ""}


def test_validation_parameter_survives_value_updates(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.submit(alice, CHAINCODE, "set_ep", ["absent", "policy"])  # no key: metadata is dropped
    assert ledger.evaluate(alice, CHAINCODE, "get_ep", ["absent"]).payload == b""
    ledger.submit(alice, CHAINCODE, "put", ["k", "1"])
    ledger.submit(alice, CHAINCODE, "set_ep", ["k", "policy"])
    ledger.submit(alice, CHAINCODE, "put", ["k", "2"])
    assert ledger.evaluate(alice, CHAINCODE, "get_ep", ["k"]).payload == b"policy"
    assert ledger.evaluate(alice, CHAINCODE, "get", ["k"]).payload == b"2"


def test_chaincode_to_chaincode_shares_the_transaction(ledger: EmbeddedLedger, alice: Identity) -> None:
    ledger.install("other", KeyValueChaincode())
    ledger.submit(alice, CHAINCODE, "call", ["other", "put", "shared", "x"])
    assert ledger.evaluate(alice, "other", "get", ["shared"]).payload == b"x"
    assert ledger.evaluate(alice, CHAINCODE, "get", ["shared"]).payload == b""  # other namespace
    block = ledger.get_block(ledger.height - 1)
    assert len(block.transactions) == 1 and block.transactions[0].chaincode_name == CHAINCODE
    missing = ledger.evaluate(alice, CHAINCODE, "call", ["nowhere", "get", "k"])
    assert missing.status == 500 and "nowhere" in missing.message


def test_rich_query_fails_and_unknown_chaincode_raises(ledger: EmbeddedLedger, alice: Identity) -> None:
    assert ledger.evaluate(alice, CHAINCODE, "rich", ['{"selector":{}}']).status == 500
    with pytest.raises(ChaincodeNotFoundError):
        ledger.evaluate(alice, "missing", "get", ["k"])


def test_stub_sees_proposal_tx_id_and_creator(ledger: EmbeddedLedger, alice: Identity) -> None:
    endorsed = ledger.endorse(alice, CHAINCODE, "whoami", [])
    seen = json.loads(endorsed.response.payload)
    assert seen == {"tx_id": endorsed.tx_id, "creator": alice.serialized().hex()}


PAGE_KEYS = st.lists(
    st.text(alphabet="abcxyzé€\U0001f600~", min_size=1, max_size=4), unique=True, max_size=30
)


@settings(max_examples=30, deadline=None)
@given(keys=PAGE_KEYS, page_size=st.integers(min_value=1, max_value=12))
def test_pagination_bookmarks_walk_the_range(keys: list[str], page_size: int) -> None:
    with EmbeddedLedger.open(None) as ledger:
        ledger.install(CHAINCODE, KeyValueChaincode())
        who = _identity(ledger)
        if keys:
            ledger.submit(who, CHAINCODE, "put", [part for key in keys for part in (key, "v")])
        walked: list[str] = []
        bookmark = ""
        for _ in range(len(keys) + 2):
            page = json.loads(
                ledger.evaluate(who, CHAINCODE, "page", ["", "", str(page_size), bookmark]).payload
            )
            assert page["count"] == len(page["keys"]) <= page_size
            walked += page["keys"]
            bookmark = page["bookmark"]
            if not bookmark:
                break
        assert walked == sorted(keys, key=lambda k: k.encode())


_IDENTITIES: dict[str, tuple[Identity, str]] = {}


def _identity(ledger: EmbeddedLedger) -> Identity:
    """One identity for every example: later ledgers trust the CA that issued it, as a channel
    trusts another organisation's CA (key generation is what makes examples slow)."""
    if "paging" not in _IDENTITIES:
        identity = ledger.identities.enroll("pager", "Org1MSP")
        _IDENTITIES["paging"] = (identity, ledger.msp_roots("Org1MSP")[0].public_bytes(Encoding.PEM).decode())
    else:
        identity, issuer_pem = _IDENTITIES["paging"]
        ledger.trust_msp_root("Org1MSP", issuer_pem)
    return identity


def test_a_failing_block_write_leaves_no_trace(ledger: EmbeddedLedger, alice: Identity) -> None:
    """Atomicity: a block whose write fails half-way applies none of its state, history or header."""
    from datetime import UTC, datetime

    from embedded_ledger.blocks import Block
    from embedded_ledger.rwset import Height, StateKey
    from embedded_ledger.store import HistoryRecord, StateUpdate

    store = ledger._store
    height = ledger.height
    now = datetime.now(UTC)
    row = HistoryRecord(CHAINCODE, "k", Height(height, 0), "t", b"v", False, now)
    with pytest.raises(Exception, match="UNIQUE"):
        store.write_block(
            Block(height, b"h", b"p", b"d", now),
            [StateUpdate(StateKey(CHAINCODE, "", "k"), b"v", Height(height, 0))],
            [row, row],  # the duplicate row fails after the state update was written
            [],
        )
    assert ledger.height == height
    assert ledger.evaluate(alice, CHAINCODE, "get", ["k"]).payload == b""


def test_concurrent_submits_are_serialised(ledger: EmbeddedLedger, alice: Identity) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ledger.submit(alice, CHAINCODE, "increment", ["n"]), range(24)))
    assert ledger.evaluate(alice, CHAINCODE, "get", ["n"]).payload == b"24"
