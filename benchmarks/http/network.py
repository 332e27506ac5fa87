"""The same comparison on the real network: `python -m benchmarks.http.network [--quick]`.

Brings the project's Fabric network up on a free port offset in a temporary home, deploys the coin, tells
the demo (its cast and institutions), then pays in interleaved rounds through the SDK (Gateway, as the
member), through the service in two requests and in three (GatewayUpstream; the member's key signs on
the client side, see flows.py), and the floor (the SDK's payment plus two empty requests), every variant
with `--clients` payments in flight; then stops everything. Goal: >= 0.9x the SDK's throughput (the
peers bound both).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import fabric_gateway as fg
from seocho.coin import Coin
from seocho.gateway_backend import backend_for, connect_gateway
from seocho.profile import Profile, load_profile
from seocho_http import ServiceConfig, create_app
from seocho_http.upstream import GatewayUpstream
from seocho_network import Network

from benchmarks.http.flows import (
    Measured,
    Phone,
    connect,
    digest_signer,
    three_requests,
    two_requests,
    with_empty_requests,
)
from benchmarks.http.serving import serving
from benchmarks.network import bring_up

MEMBERS = ("S-0001", "S-0002", "S-0003", "S-0004", "S-0005")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=1, help="payments in flight, for every variant")
    parser.add_argument("--httpx", action="store_true", help="httpx as the app's HTTP client (flows.py)")
    options = parser.parse_args()
    if not 1 <= options.clients <= len(MEMBERS):  # each client pays as members of its own
        parser.error(f"--clients is 1 to {len(MEMBERS)}, the demo's members the benchmark pays as")
    per_round, rounds = (10, 3) if options.quick else (20, 5)
    started = time.monotonic()
    with bring_up.locked_port_offset() as offset, tempfile.TemporaryDirectory(prefix="seocho-http-") as home:
        network = Network.open(Path(home) / "network", say=lambda line: None, port_offset=offset)
        try:
            print(f"bringing up the network (port offset {offset})", flush=True)
            bring_up.coin_network_up(network)
            profile_path = network.layout.profile
            seocho = str(Path(sys.executable).with_name("seocho"))
            subprocess.run([seocho, "--profile", str(profile_path), "demo", "--json"], check=True,
                           env={**os.environ, "SEOCHO_HOME": home}, stdout=subprocess.DEVNULL)  # fmt: skip
            print("demo told; measuring", flush=True)
            measure(load_profile(profile_path), Path(home), per_round, rounds, options.clients, options.httpx)
        finally:
            network.down(purge=True)
            print(f"network stopped and removed ({time.monotonic() - started:.0f} s in all)")


def top_up(profile: Profile, stack: ExitStack, sdk: dict[str, Coin], coins: int) -> None:
    """Give each member at least `coins` (the demo leaves some with few) through the welfare centre."""
    staff = Coin(backend_for(profile, stack.enter_context(connect_gateway(profile, "staff-welfare"))))
    for member, coin in sdk.items():
        missing = coins - int(coin.get_balance(member)["spendable"])
        if missing > 0:  # health sessions earn a coin each and count toward no daily cap
            proof = hashlib.sha256(f"bench-{member}".encode()).hexdigest()
            staff.earn(member, "health_session", missing, proof, f"BENCH-TOPUP-{member}")


def measure(profile: Profile, home: Path, per_round: int, rounds: int, clients: int, use_httpx: bool) -> None:
    with ExitStack() as stack:
        sdk, phones = {}, {}
        for member in MEMBERS:
            name = f"member-{member}"
            gateway = stack.enter_context(connect_gateway(profile, name))
            sdk[member] = Coin(backend_for(profile, gateway))
            ref = profile.identity(name)
            identity, signer = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
            certificate = identity.certificate_pem.decode()
            phones[member] = Phone(member, ref.msp_id, certificate, digest_signer(signer))
        measured = Measured(clients, per_round, rounds, len(MEMBERS))
        # Four variants pay; each client pays from its own members (one each when clients >= 3).
        per_member = -(-4 * rounds * measured.per_client // (len(MEMBERS) // clients))
        top_up(profile, stack, sdk, per_member + 2)
        config = ServiceConfig(state_dir=home / "http", rate_per_credential=1e6, rate_per_address=1e6)
        app = create_app(GatewayUpstream(profile, "district-auditor"), config)
        base_url = stack.enter_context(serving(app))
        connections = [stack.enter_context(connect(base_url, 120, use_httpx)) for _ in range(clients)]
        target = (profile.channel, profile.chaincode)

        def operation(member_id: str, request_id: str) -> dict[str, object]:
            return {"name": "pay", "member_id": member_id, "institution_id": "seocho-welfare",
                    "price_krw": 1000, "coins": 1, "service_code": "gym",
                    "request_id": request_id}  # fmt: skip

        def pay_sdk(client: int, m: int, n: int) -> None:
            sdk[MEMBERS[m]].pay(MEMBERS[m], "seocho-welfare", 1000, 1, "gym", f"BSDK-{n}")

        def http_2(client: int, m: int, n: int) -> None:
            two_requests(connections[client], phones[MEMBERS[m]], operation(MEMBERS[m], f"BH2-{n}"), target)

        def http_3(client: int, m: int, n: int) -> None:
            three_requests(connections[client], phones[MEMBERS[m]], operation(MEMBERS[m], f"BH3-{n}"))

        floor = with_empty_requests(connections, pay_sdk)
        measured.run({"sdk": pay_sdk, "http-2": http_2, "http-3": http_3, "floor-2": floor})
    print(f"payments, real network, {rounds} rounds x {per_round} each,"
          f" {clients} client(s) in every variant")  # fmt: skip
    measured.report("sdk", 0.9, floor="floor-2")


if __name__ == "__main__":
    main()
