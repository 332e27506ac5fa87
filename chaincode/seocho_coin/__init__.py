"""Seocho Coin chaincode: a district reward coin whose every rule is versioned policy data.

`SeochoCoinContract` (in `seocho_coin.contract`) is the contract; `seocho_coin.server.main` serves it.
Rules live one concept per module (earning, payments, donations, settlement, expiry, reports...) and
operate on a buffered transaction view (`seocho_coin.txn.Tx`), never on gRPC or protobuf.

Privacy: no personal data goes on the ledger. Members, institutions and requests are opaque
pseudonymous codes, and a client identity is stored only as an unsalted SHA-256 of its `cid` id,
which is built from the certificate's subject and issuer names. An unsalted hash of a guessable
name can be reversed by trying names, so members MUST be enrolled under pseudonymous enrollment
IDs: the certificate's CN is the member's pseudonym (e.g. the member id), never a person's name,
and no other subject field names the person. Then the hash reveals nothing that the pseudonymous
member id does not.
"""

from seocho_coin.contract import SeochoCoinContract

__all__ = ["SeochoCoinContract"]
