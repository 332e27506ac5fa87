"""The chaincode side of the shim benchmark, run as its own process like a real chaincode container.

Keeping the chaincode out of the driver's process matters: in one process the driver and the shim
would share one GIL and measure its hand-offs rather than the protocol. Prints the bound port on
stdout, then serves until stdin closes. `--aio` serves from the `grpc.aio` experiment instead.
"""

from __future__ import annotations

import sys

from fabric_shim.config import ServerConfig
from fabric_shim.server import ChaincodeServer

from benchmarks.aio_server import AioChaincodeServer
from benchmarks.shim_driver import CounterChaincode


def main() -> None:
    config = ServerConfig(address="127.0.0.1:0", chaincode_id="bench:1", tls=None)
    server_class: type[ChaincodeServer] | type[AioChaincodeServer] = ChaincodeServer
    if sys.argv[1:] == ["--aio"]:  # benchmarks.bench_transport's other contender
        server_class = AioChaincodeServer
    with server_class(CounterChaincode(), config) as server:
        print(server.port, flush=True)
        sys.stdin.read()  # returns when the parent closes our stdin (or exits)


if __name__ == "__main__":
    main()
