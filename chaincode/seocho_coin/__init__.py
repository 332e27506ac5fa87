"""Seocho Coin chaincode: a district reward coin whose every rule is versioned policy data.

`SeochoCoinContract` (in `seocho_coin.contract`) is the contract; `seocho_coin.server.main` serves it.
Rules live one concept per module (earning, payments, donations, settlement, expiry, reports...) and
operate on a buffered transaction view (`seocho_coin.txn.Tx`), never on gRPC or protobuf.
"""

from seocho_coin.contract import SeochoCoinContract

__all__ = ["SeochoCoinContract"]
