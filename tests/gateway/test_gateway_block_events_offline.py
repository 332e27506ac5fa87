"""Offline units: the seek envelope of block events, its start position, and Deliver status errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import fabric_gateway as fg
import grpc
import pytest
from fabric_gateway.block_events import MAX_BLOCK_NUMBER, build_seek_envelope, start_position
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from hypothesis import given
from hypothesis import strategies as st

CREATOR = b"\x0a\x07Org1MSP\x12\x05cert!"


def _parts(envelope: Any) -> tuple[Any, Any, Any]:
    """The channel header, signature header and seek info of a seek envelope."""
    payload = common_pb2.Payload.FromString(envelope.payload)
    return (
        common_pb2.ChannelHeader.FromString(payload.header.channel_header),
        common_pb2.SignatureHeader.FromString(payload.header.signature_header),
        ab_pb2.SeekInfo.FromString(payload.data),
    )


def test_the_seek_envelope_has_fabric_deliver_structure() -> None:
    nonce = bytes(range(24))
    moment = dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.UTC)
    start = start_position(start_block=7)
    envelope = build_seek_envelope(CREATOR, "seocho", start, nonce=nonce, timestamp=moment)
    channel_header, signature_header, seek = _parts(envelope)
    assert channel_header.type == common_pb2.HeaderType.DELIVER_SEEK_INFO
    assert channel_header.channel_id == "seocho"
    assert channel_header.tx_id == fg.transaction_id(nonce, CREATOR)
    assert channel_header.timestamp.ToDatetime(tzinfo=dt.UTC) == moment
    assert channel_header.epoch == 0
    assert (signature_header.creator, signature_header.nonce) == (CREATOR, nonce)
    assert seek.start.specified.number == 7
    assert seek.stop.specified.number == MAX_BLOCK_NUMBER == 2**64 - 1
    assert seek.behavior == ab_pb2.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY
    assert envelope.signature == b""


def test_each_request_gets_a_fresh_nonce() -> None:
    first, second = (build_seek_envelope(CREATOR, "c", start_position()) for _ in range(2))
    assert _parts(first)[1].nonce != _parts(second)[1].nonce
    assert len(_parts(first)[1].nonce) == 24


def test_without_start_or_checkpoint_the_stream_starts_at_the_next_commit() -> None:
    # As the official clients do (fabric-gateway's eventsBuilder defaults to SeekNextCommit).
    assert start_position().WhichOneof("Type") == "next_commit"
    assert start_position(checkpoint=fg.InMemoryCheckpointer()).WhichOneof("Type") == "next_commit"


@given(
    start_block=st.none() | st.integers(0, MAX_BLOCK_NUMBER),
    checkpointed=st.none() | st.integers(0, 10**9),
)
def test_a_checkpointed_block_wins_over_start_block(
    start_block: int | None, checkpointed: int | None
) -> None:
    checkpointer = fg.InMemoryCheckpointer()
    if checkpointed is not None:
        checkpointer.checkpoint_block(checkpointed)
    position = start_position(start_block, checkpointer)
    expected = checkpointed + 1 if checkpointed is not None else start_block
    if expected is None:
        assert position.WhichOneof("Type") == "next_commit"
    else:
        assert position.specified.number == expected


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_a_start_block_outside_uint64_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="start_block"):
        start_position(start_block=bad)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (common_pb2.Status.NOT_FOUND, grpc.StatusCode.NOT_FOUND),
        (common_pb2.Status.FORBIDDEN, grpc.StatusCode.PERMISSION_DENIED),
        (common_pb2.Status.BAD_REQUEST, grpc.StatusCode.INVALID_ARGUMENT),
        (common_pb2.Status.SERVICE_UNAVAILABLE, grpc.StatusCode.UNAVAILABLE),
        (999, grpc.StatusCode.UNKNOWN),
    ],
)
def test_deliver_statuses_map_to_grpc_codes(status: int, code: grpc.StatusCode) -> None:
    error = fg.BlockEventsError.from_deliver_status(status)
    assert isinstance(error, fg.GatewayError)
    assert (error.code, error.deliver_status) == (code, status)
    assert str(status) in str(error)
