"""Payments through `seocho serve` against the same payments through the SDK, in one run (embedded ledger).

    .venv/bin/python -m benchmarks.http [--quick]

The SDK pays as members whose keys the ledger holds (one call each); the service is uvicorn on 127.0.0.1
(plain HTTP, one keep-alive connection), and each payment is what a resident's app does: propose, sign,
endorse, sign, submit (three requests, two signatures made by the client). A third variant, the floor, is
the SDK's payment plus three HTTP round trips that do nothing: what no service with this flow can beat
(the app's HTTP client, uvicorn and FastAPI, in this process). Rounds alternate between the variants; a
ratio is the median of per-round throughput ratios. Goal: >= 0.8x the SDK on the embedded ledger. CPU per
payment (this process: app and service both) is printed too, as it drifts less than wall time.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from embedded_ledger import EmbeddedLedger
from fabric_gateway.signing import sign_low_s
from seocho.backend import EmbeddedBackend, open_embedded_ledger
from seocho.cast import client_id_of
from seocho.coin import Coin
from seocho_http import ServiceConfig, create_app
from seocho_http.signatures import creator_of
from seocho_http.upstream import EmbeddedUpstream

from benchmarks.http.serving import serving
from benchmarks.timing import Sample, interleaved, paired_ratios

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
    options = parser.parse_args()
    per_round, rounds, members = (20, 3, 8) if options.quick else (40, 5, 16)
    with tempfile.TemporaryDirectory() as home, ExitStack() as stack:
        ledger, sdk_members, floor_members, phones = build(Path(home) / "ledger", members)
        config = ServiceConfig(state_dir=Path(home) / "http", rate_per_credential=1e6, rate_per_address=1e6)
        app = create_app(EmbeddedUpstream(ledger), config)
        stack.callback(ledger.close)  # closes after the service has stopped
        base_url = stack.enter_context(serving(app))
        client = stack.enter_context(httpx.Client(base_url=base_url, timeout=60))
        latencies: dict[str, list[float]] = {"sdk": [], "http": [], "floor": []}
        # CPU seconds of this process per round (both sides of a payment run here): steadier than wall
        # time on a shared machine, and what the service's own overheads show in.
        cpu: dict[str, list[float]] = {"sdk": [], "http": [], "floor": []}
        counter = iter(range(10**9))

        def sdk_round() -> Sample:
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(per_round):
                t = time.perf_counter()
                n = next(counter)
                sdk_members[i % members].pay(f"S-{i % members:04d}", "wc-01", 200, 1, "gym", f"SDK-{n}")
                latencies["sdk"].append(time.perf_counter() - t)
            cpu["sdk"].append((time.process_time() - cpu_start) / per_round)
            return Sample(per_round, time.perf_counter() - start)

        def http_round() -> Sample:
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(per_round):
                t = time.perf_counter()
                member_id, pem, key = phones[i % members]
                body = {
                    "msp_id": DISTRICT,
                    "certificate": pem,
                    "operation": payment(member_id, f"H-{next(counter)}"),
                }
                step = client.post("/v1/proposals", json=body).json()
                sign = base64.b64encode(sign_low_s(key, base64.b64decode(step["to_sign"]))).decode()
                step = client.post(step["next"], json={"signature": sign}).json()
                sign = base64.b64encode(sign_low_s(key, base64.b64decode(step["to_sign"]))).decode()
                outcome = client.post(step["next"], json={"signature": sign}).json()
                if outcome.get("status") != "committed":
                    raise SystemExit(f"a payment through the service did not commit: {outcome}")
                latencies["http"].append(time.perf_counter() - t)
            cpu["http"].append((time.process_time() - cpu_start) / per_round)
            return Sample(per_round, time.perf_counter() - start)

        def floor_round() -> Sample:
            # What no service could beat with this flow: the SDK's payment plus three HTTP round trips
            # that do nothing (GET /healthz), on the same connection.
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(per_round):
                t = time.perf_counter()
                for _ in range(3):
                    client.get("/healthz").raise_for_status()
                n = next(counter)
                floor_members[i % members].pay(f"F-{i % members:04d}", "wc-01", 200, 1, "gym", f"F-{n}")
                latencies["floor"].append(time.perf_counter() - t)
            cpu["floor"].append((time.process_time() - cpu_start) / per_round)
            return Sample(per_round, time.perf_counter() - start)

        variants = [("sdk", sdk_round), ("http", http_round), ("floor", floor_round)]
        samples = interleaved(variants, rounds)
        ratios = paired_ratios(samples, "http", "sdk")
        floor_ratios = paired_ratios(samples, "floor", "sdk")
    print(f"payments, embedded ledger, {rounds} rounds x {per_round} each, one client")
    for name in ("sdk", "http", "floor"):
        rates = [s.rate for s in samples[name]]
        ms = sorted(x * 1000 for x in latencies[name])
        p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        per_payment = statistics.median(cpu[name]) * 1000
        print(
            f"  {name:5} {statistics.median(rates):8.1f} payments/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
            f"   CPU {per_payment:5.2f} ms/payment"
        )
    median = statistics.median(ratios)
    print(
        f"  service / SDK throughput: {median:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f});"
        " goal >= 0.80x"
    )
    print(
        f"  floor (SDK + 3 empty round trips) / SDK: {statistics.median(floor_ratios):.2f}x"
        f" (rounds {min(floor_ratios):.2f}-{max(floor_ratios):.2f}): the most a three-request flow can reach"
    )


if __name__ == "__main__":
    main()
