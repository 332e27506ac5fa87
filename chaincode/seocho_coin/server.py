"""`seocho-chaincode`: serve the Seocho Coin contract as a chaincode-as-a-service.

Configured by the environment the official shims read (`CHAINCODE_SERVER_ADDRESS`, `CHAINCODE_ID`,
`CHAINCODE_TLS_*`, `CHAINCODE_CLIENT_CA_CERT`; see `fabric_shim.config`), plus `SEOCHO_DISTRICT_MSP`
(default SeochoDistrictMSP), the only MSP `init_ledger` will accept, and `SEOCHO_LOG_LEVEL` (INFO).
"""

from __future__ import annotations

import logging
import os
import sys

from fabric_shim.contract import ContractChaincode
from fabric_shim.errors import ConfigError

from seocho_coin.contract import DEFAULT_DISTRICT_MSP, SeochoCoinContract


def build_chaincode() -> ContractChaincode:
    district_msp = os.environ.get("SEOCHO_DISTRICT_MSP", DEFAULT_DISTRICT_MSP)
    return ContractChaincode(SeochoCoinContract(district_msp), title="Seocho Coin")


def main() -> None:
    from fabric_shim import server

    # The program, not the library, decides how logs look; the shim never logs payloads above DEBUG.
    logging.basicConfig(
        level=os.environ.get("SEOCHO_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server.run(build_chaincode())
    except ConfigError as exc:
        print(f"seocho-chaincode: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        print(f"seocho-chaincode: cannot serve: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
