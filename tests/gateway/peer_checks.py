"""Checks a peer makes on every signed request, shared by the Gateway and Deliver doubles.

The checks themselves are the embedded ledger's channel membership (trusted MSP roots, validity,
ECDSA low-S signatures); this module turns its refusals into the doubles' `Refused`.
"""

from __future__ import annotations

from embedded_ledger import ChannelMembership, IdentityError, Member


class Refused(Exception):
    """A request a peer would refuse; the message is what the peer says."""


def verify_signature(
    membership: ChannelMembership, creator: bytes, message: bytes, signature: bytes
) -> Member:
    """The member `creator` is, once `signature` is its valid low-S signature of `message`; else `Refused`."""
    try:
        return membership.verify(creator, message, signature)
    except IdentityError as refused:
        raise Refused(str(refused)) from None
