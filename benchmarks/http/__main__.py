"""Payments through `seocho serve` against the same payments through the SDK, in one run (embedded ledger).

    .venv/bin/python -m benchmarks.http [--quick] [--clients N]

Like with like: every variant runs at the same concurrency (`--clients` threads, each paying in turn), in
this one process, with the same members' kinds and the same payment. The SDK pays as members whose keys
the ledger holds (one call each). The service is uvicorn on 127.0.0.1 (plain HTTP, a keep-alive
connection per client), and each payment is what a resident's app does: `http-2` builds and signs the
proposal itself, then signs the transaction (two requests); `http-3` is the wallet page's flow (three
requests: the service builds the proposal). The floor is the SDK's payment plus two HTTP round trips
that do nothing (GET /healthz): what no two-request flow through this HTTP stack can beat. Rounds
alternate between the variants; a ratio is the median of per-round throughput ratios. Goal: >= 0.8x the
SDK on the embedded ledger. CPU per payment (this process: app and service both, and the part of it in
the service's threads) is printed too, as it drifts less than wall time on a shared machine. The app's
HTTP client is http.client (flows.py says why); `--httpx` measures with httpx instead.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from embedded_ledger import EmbeddedLedger
from fabric_gateway.signing import sign_low_s
from seocho.backend import CHAINCODE_NAME, EmbeddedBackend, open_embedded_ledger
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho_http import ServiceConfig, create_app
from seocho_http.signatures import creator_of
from seocho_http.upstream import EmbeddedUpstream

from benchmarks.http.flows import Measured, Phone, connect, three_requests, two_requests, with_empty_requests
from benchmarks.http.serving import serving

DISTRICT, PARTNERS = "SeochoDistrictMSP", "PartnersMSP"


def build(
    path: Path, members: int
) -> tuple[EmbeddedLedger, list[Coin], list[Coin], list[tuple[str, str, ec.EllipticCurvePrivateKey]]]:
    ledger = open_embedded_ledger(path)
    ids = ledger.identities
    admin = Coin(EmbeddedBackend(ledger, ids.enroll("admin", DISTRICT, {"seocho.role": "admin"})))
    registrar = Coin(EmbeddedBackend(ledger, ids.enroll("registrar", DISTRICT, {"seocho.role": "registrar"})))
    staff = ids.enroll("wc-staff", PARTNERS, {"seocho.role": "staff", "seocho.institution": "wc-01",
                                              "seocho.manager": "true"})  # fmt: skip
    admin.init_ledger(DISTRICT)
    admin.register_institution(
        "wc-01", "welfare_centre", ["volunteer_hour"], sells_services=True, takes_donations=False,
        annual_quota=10_000_000, staff_msp=PARTNERS,
    )  # fmt: skip
    year = time.strftime("%Y")
    admin.allocate_allowance("wc-01", client_id_of(staff.serialized()), year, 1_000_000)
    wc = Coin(EmbeddedBackend(ledger, staff))
    sdk_members: list[Coin] = []
    floor_members: list[Coin] = []
    phones: list[tuple[str, str, ec.EllipticCurvePrivateKey]] = []
    ca = ids.certificate_authority(DISTRICT)
    for n in range(members):
        sdk_id, app_id = f"S-{n:04d}", f"A-{n:04d}"
        for member_id, members_list in ((sdk_id, sdk_members), (f"F-{n:04d}", floor_members)):
            identity = ids.enroll(member_id, DISTRICT, {"seocho.role": "member"})
            registrar.register_member(member_id, ["senior"], client_id_of(identity.serialized()))
            members_list.append(Coin(EmbeddedBackend(ledger, identity)))
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = {
            "hf.EnrollmentID": app_id,
            "hf.Type": "client",
            "hf.Affiliation": "",
            "seocho.role": "member",
        }
        pem = (
            ca.issue(app_id, key.public_key(), "client", attrs)
            .public_bytes(serialization.Encoding.PEM)
            .decode()
        )
        registrar.register_member(app_id, ["senior"], client_id_of(creator_of(DISTRICT, pem)))
        phones.append((app_id, pem, key))
        for member_id in (sdk_id, f"F-{n:04d}", app_id):
            wc.earn(member_id, "volunteer_hour", 8, "ab" * 32, f"SEED-{member_id}")
    return ledger, sdk_members, floor_members, phones


def payment(member_id: str, request_id: str) -> dict[str, object]:
    return {"name": "pay", "member_id": member_id, "institution_id": "wc-01", "price_krw": 200,
            "coins": 1, "service_code": "gym", "request_id": request_id}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=1, help="payments in flight, for every variant")
    parser.add_argument("--httpx", action="store_true", help="httpx as the app's HTTP client (flows.py)")
    options = parser.parse_args()
    # Each member earns 24 coins (8 volunteer hours, the daily cap); http-2 and http-3 share the phones.
    per_round, rounds, members = (40, 3, 16) if options.quick else (80, 5, 40)
    clients = options.clients
    members = max(members, clients)
    with tempfile.TemporaryDirectory() as home, ExitStack() as stack:
        ledger, sdk_members, floor_members, keys = build(Path(home) / "ledger", members)
        phones = [Phone(m, DISTRICT, pem, functools.partial(sign_low_s, key)) for m, pem, key in keys]
        config = ServiceConfig(state_dir=Path(home) / "http", rate_per_credential=1e6, rate_per_address=1e6)
        app = create_app(EmbeddedUpstream(ledger), config)
        stack.callback(ledger.close)  # closes after the service has stopped
        base_url = stack.enter_context(serving(app))
        connections = [stack.enter_context(connect(base_url, 60, options.httpx)) for _ in range(clients)]
        target = (ledger.channel_id, CHAINCODE_NAME)

        def sdk(client: int, m: int, n: int) -> None:
            sdk_members[m].pay(f"S-{m:04d}", "wc-01", 200, 1, "gym", f"SDK-{n}")

        def http_2(client: int, m: int, n: int) -> None:
            two_requests(connections[client], phones[m], payment(phones[m].member_id, f"H2-{n}"), target)

        def http_3(client: int, m: int, n: int) -> None:
            three_requests(connections[client], phones[m], payment(phones[m].member_id, f"H3-{n}"))

        def floor_pay(client: int, m: int, n: int) -> None:  # the F- members: sdk spends the S- ones
            floor_members[m].pay(f"F-{m:04d}", "wc-01", 200, 1, "gym", f"F-{n}")

        measured = Measured(clients, per_round, rounds, members)
        floor = with_empty_requests(connections, floor_pay)
        measured.run({"sdk": sdk, "http-2": http_2, "http-3": http_3, "floor-2": floor})
    print(f"payments, embedded ledger, {rounds} rounds x {per_round} each,"
          f" {clients} client(s) in every variant")  # fmt: skip
    measured.report("sdk", 0.8, floor="floor-2")


if __name__ == "__main__":
    main()
