"""The coin chaincode as `seocho-chaincode` builds it, for `deploy_test_chaincode` to serve as another."""

from __future__ import annotations

from fabric_shim.contract import ContractChaincode
from seocho_coin.server import build_chaincode


def new_chaincode() -> ContractChaincode:
    return build_chaincode()
