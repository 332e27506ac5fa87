"""The same comparison on the real network: `python -m benchmarks.http.network [--quick]`.

Brings the project's Fabric network up on a free port offset in a temporary home, deploys the coin, tells
the demo (its cast and institutions), then pays alternately through the SDK (Gateway, as the member) and
through the service (GatewayUpstream; the member's key signs on the client side), and stops everything.
Goal: >= 0.9x the SDK's throughput (the peers bound both).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import fabric_gateway as fg
import httpx
from seocho.coin import Coin
from seocho.gateway_backend import backend_for, connect_gateway
from seocho.network_setup import initialise_ledger, provision_demo
from seocho.profile import load_profile
from seocho_http import ServiceConfig, create_app
from seocho_http.upstream import GatewayUpstream
from seocho_network import Network

from benchmarks.http.serving import serving
from benchmarks.network import bring_up
from benchmarks.timing import Sample, interleaved, paired_ratios

MEMBERS = ("S-0001", "S-0002", "S-0003", "S-0004", "S-0005")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    per_round, rounds = (5, 2) if parser.parse_args().quick else (10, 3)
    started = time.monotonic()
    with bring_up.locked_port_offset() as offset, tempfile.TemporaryDirectory(prefix="seocho-http-") as home:
        network = Network.open(Path(home) / "network", say=lambda line: None, port_offset=offset)
        try:
            print(f"bringing up the network (port offset {offset})", flush=True)
            network.up()
            # The client's steps, as `network.sh up` and `deploy` run them (the demo needs its cast).
            provision_demo(network.layout.root, say=lambda line: None)
            network.deploy()
            initialise_ledger(network.layout.root, say=lambda line: None)
            profile_path = network.layout.profile
            seocho = str(Path(sys.executable).with_name("seocho"))
            subprocess.run([seocho, "--profile", str(profile_path), "demo", "--json"], check=True,
                           env={**os.environ, "SEOCHO_HOME": home}, stdout=subprocess.DEVNULL)  # fmt: skip
            print("demo told; measuring", flush=True)
            measure(load_profile(profile_path), Path(home), per_round, rounds)
        finally:
            network.down(purge=True)
            print(f"network stopped and removed ({time.monotonic() - started:.0f} s in all)")


def top_up(profile: object, stack: ExitStack, sdk: dict[str, Coin], coins: int) -> None:
    """Give each member at least `coins` (the demo leaves some with few) through the welfare centre."""
    staff = Coin(backend_for(profile, stack.enter_context(connect_gateway(profile, "staff-welfare"))))  # type: ignore[arg-type]
    for member, coin in sdk.items():
        for attempt in range(20):
            if coin.get_balance(member)["spendable"] >= coins:
                break
            proof = hashlib.sha256(f"bench-{member}-{attempt}".encode()).hexdigest()
            staff.earn(member, "health_session", 1, proof, f"BENCH-TOPUP-{member}-{attempt}")


def measure(profile: object, home: Path, per_round: int, rounds: int) -> None:
    with ExitStack() as stack:
        sdk = {}
        phones = {}
        for member in MEMBERS:
            name = f"member-{member}"
            gateway = stack.enter_context(connect_gateway(profile, name))  # type: ignore[arg-type]
            sdk[member] = Coin(backend_for(profile, gateway))  # type: ignore[arg-type]
            ref = profile.identity(name)  # type: ignore[attr-defined]
            identity, signer = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
            phones[member] = (ref.msp_id, identity.certificate_pem.decode(), signer)
        top_up(profile, stack, sdk, 2 * per_round * rounds // len(MEMBERS) + 2)
        config = ServiceConfig(state_dir=home / "http", rate_per_credential=1e6, rate_per_address=1e6)
        app = create_app(GatewayUpstream(profile, "district-auditor"), config)  # type: ignore[arg-type]
        base_url = stack.enter_context(serving(app))
        client = stack.enter_context(httpx.Client(base_url=base_url, timeout=120))
        latencies: dict[str, list[float]] = {"sdk": [], "http": []}
        counter = iter(range(10**9))

        def sdk_round() -> Sample:
            start = time.perf_counter()
            for i in range(per_round):
                member = MEMBERS[i % len(MEMBERS)]
                t = time.perf_counter()
                sdk[member].pay(member, "seocho-welfare", 1000, 1, "gym", f"BSDK-{next(counter)}")
                latencies["sdk"].append(time.perf_counter() - t)
            return Sample(per_round, time.perf_counter() - start)

        def sign(signer: fg.Signer, to_sign: str) -> str:
            return base64.b64encode(signer(hashlib.sha256(base64.b64decode(to_sign)).digest())).decode()

        def http_round() -> Sample:
            start = time.perf_counter()
            for i in range(per_round):
                member = MEMBERS[i % len(MEMBERS)]
                msp_id, pem, signer = phones[member]
                t = time.perf_counter()
                operation = {"name": "pay", "member_id": member, "institution_id": "seocho-welfare",
                             "price_krw": 1000, "coins": 1, "service_code": "gym",
                             "request_id": f"BHTTP-{next(counter)}"}  # fmt: skip
                step = client.post("/v1/proposals", json={"msp_id": msp_id, "certificate": pem,
                                                          "operation": operation}).json()  # fmt: skip
                step = client.post(step["next"], json={"signature": sign(signer, step["to_sign"])}).json()
                outcome = client.post(step["next"], json={"signature": sign(signer, step["to_sign"])}).json()
                if outcome.get("status") != "committed":
                    raise SystemExit(f"a payment through the service did not commit: {outcome}")
                latencies["http"].append(time.perf_counter() - t)
            return Sample(per_round, time.perf_counter() - start)

        samples = interleaved([("sdk", sdk_round), ("http", http_round)], rounds)
        ratios = paired_ratios(samples, "http", "sdk")
    print(f"payments, real network, {rounds} rounds x {per_round} each, one client")
    for name in ("sdk", "http"):
        ms = sorted(x * 1000 for x in latencies[name])
        p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        rate = statistics.median(s.rate for s in samples[name])
        print(f"  {name:5} {rate:8.2f} payments/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    print(f"  service / SDK throughput: {statistics.median(ratios):.2f}x "
          f"(rounds {min(ratios):.2f}-{max(ratios):.2f}); goal >= 0.90x")  # fmt: skip


if __name__ == "__main__":
    main()
