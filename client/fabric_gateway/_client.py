"""What every request object shares: the gRPC stub, who signs, how digests are made, the timeouts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fabric_protos.gateway import gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from fabric_gateway.identity import X509Identity
from fabric_gateway.signing import Hash, Signer
from fabric_gateway.timeouts import Timeouts

logger = logging.getLogger(__name__)


class MissingSignerError(RuntimeError):
    """A request must be signed, but the gateway has no signer: sign its digest offline instead."""


@dataclass(frozen=True)
class GatewayClient:
    """Internal: one connection's shared settings, handed to every proposal, transaction and request."""

    stub: gateway_pb2_grpc.GatewayStub
    identity: X509Identity
    signer: Signer | None
    hash: Hash
    timeouts: Timeouts
    # The peer's Deliver service (block events) shares the gateway's gRPC connection.
    deliver: events_pb2_grpc.DeliverStub | None = None

    def sign(self, message: bytes) -> bytes:
        if self.signer is None:
            raise MissingSignerError(
                "this gateway has no signer: sign digest() offline and use the gateway's new_signed_* methods"
            )
        return self.signer(self.hash(message))

    def creator(self) -> bytes:
        return self.identity.serialize()
