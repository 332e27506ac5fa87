"""What a resident's app does over HTTP, and the harness both HTTP benchmarks measure it with.

Two flows: the wallet page's three requests (operation -> proposal bytes; signed proposal -> transaction
bytes; signed transaction -> outcome) and the two of an app that builds the proposal itself (signed
proposal -> transaction bytes; signed transaction -> outcome). The submission answers after the commit in
both, so neither polls the status. Every client keeps its own keep-alive connection, as a phone would.

The app's HTTP client is the standard library's `http.client` (`KeepAlive`) unless `--httpx`: the app's
side runs in this process too, and httpx costs about 0.4 ms more CPU per request than http.client here
(GET /healthz: 0.70-0.83 against 0.40-0.53 ms for app and service together) — a phone's cost, not the
service's, which the "service's threads" column shows whichever client is used.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import itertools
import json as _json
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from fabric_gateway.proposal import build_proposal
from seocho.cast import client_id_of
from seocho.operations import transaction
from seocho_http.signatures import creator_of

from benchmarks.timing import Sample, interleaved, paired_ratios


class Answer(Protocol):
    status_code: int
    text: str

    def json(self) -> Any: ...
    def raise_for_status(self) -> Any: ...


class Client(Protocol):
    def post(self, url: str, *, json: Any) -> Answer: ...
    def get(self, url: str) -> Answer: ...


@dataclass(frozen=True)
class Reply:
    status_code: int
    text: str

    def json(self) -> Any:
        return _json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise SystemExit(f"{self.status_code}: {self.text[:300]}")


class KeepAlive:
    """A JSON client on one keep-alive HTTP/1.1 connection (http.client), one per simulated phone."""

    def __init__(self, base_url: str, timeout: float) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def _send(self, method: str, url: str, body: bytes | None) -> Reply:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self._connection.request(method, url, body=body, headers=headers)
            response = self._connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The service closed the idle connection (uvicorn's keep-alive timeout): open a new one and
            # send again, as httpx does. Safe here: the API answers a retried request with its first answer.
            self._connection.close()
            self._connection.request(method, url, body=body, headers=headers)
            response = self._connection.getresponse()
        return Reply(response.status, response.read().decode())

    def post(self, url: str, *, json: Any) -> Reply:
        return self._send("POST", url, _json.dumps(json).encode())

    def get(self, url: str) -> Reply:
        return self._send("GET", url, None)

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()


def connect(base_url: str, timeout: float, use_httpx: bool) -> Any:
    """A context manager giving a client of the service (`Client`)."""
    return httpx.Client(base_url=base_url, timeout=timeout) if use_httpx else KeepAlive(base_url, timeout)


@dataclass(frozen=True)
class Phone:
    """A resident's device: it holds the key (`signer`: bytes -> DER signature, low S) and signs the bytes
    the service hands out; the service never sees the key. The benchmarks' phones and the tests' are this."""

    member_id: str
    msp_id: str
    certificate_pem: str
    signer: Callable[[bytes], bytes]

    def sign(self, to_sign_b64: str) -> str:
        """The signature (base64) of the bytes a step's `to_sign` (base64) gives."""
        return base64.b64encode(self.signer(base64.b64decode(to_sign_b64))).decode()

    @property
    def creator(self) -> bytes:
        return creator_of(self.msp_id, self.certificate_pem)

    @property
    def client_id(self) -> str:
        return client_id_of(self.creator)

    def proposal(self, operation: dict[str, Any]) -> dict[str, Any]:
        """The body of `POST /v1/proposals`: the service builds the proposal with this certificate."""
        return {"msp_id": self.msp_id, "certificate": self.certificate_pem, "operation": operation}

    def built_proposal(self, channel: str, chaincode: str, operation: dict[str, Any]) -> bytes:
        """The proposal an app builds itself (the SDK's builder; the arguments from the declaration)."""
        values = {k: v for k, v in operation.items() if k != "name"}
        arguments = transaction(str(operation["name"])).arguments(values)
        built, _tx_id = build_proposal(self.creator, channel, chaincode, str(operation["name"]), arguments)
        return built.SerializeToString()

    def signed_proposal(self, proposal: bytes) -> dict[str, str]:
        """The body of `POST /v1/signed-proposals`: the proposal and this phone's signature of it."""
        encoded = base64.b64encode(proposal).decode()
        return {"proposal": encoded, "signature": base64.b64encode(self.signer(proposal)).decode()}


def digest_signer(sign_digest: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """A phone's signer of bytes from the SDK's signer of SHA-256 digests (a profile identity's key)."""
    return lambda data: sign_digest(hashlib.sha256(data).digest())


def _committed(outcome: Any) -> None:
    if not isinstance(outcome, dict) or outcome.get("status") != "committed":
        raise SystemExit(f"a payment through the service did not commit: {outcome}")


def _step(answer: Answer) -> Any:
    """The next step's document; a problem ends the benchmark with what the service said."""
    if answer.status_code not in (200, 201):
        raise SystemExit(f"a payment step was refused: {answer.status_code} {answer.text[:300]}")
    return answer.json()


def three_requests(client: Client, phone: Phone, operation: dict[str, Any]) -> None:
    step = _step(client.post("/v1/proposals", json=phone.proposal(operation)))
    step = _step(client.post(step["next"], json={"signature": phone.sign(step["to_sign"])}))
    _committed(client.post(step["next"], json={"signature": phone.sign(step["to_sign"])}).json())


def two_requests(client: Client, phone: Phone, operation: dict[str, Any], target: tuple[str, str]) -> None:
    body = phone.signed_proposal(phone.built_proposal(*target, operation))
    step = _step(client.post("/v1/signed-proposals", json=body))
    _committed(client.post(step["next"], json={"signature": phone.sign(step["to_sign"])}).json())


Pay = Callable[[int, int, int], None]
"""One payment: (client number, the member index it pays as, a number unique in the run)."""


def with_empty_requests(connections: Sequence[Client], pay: Pay, requests: int = 2) -> Pay:
    """The floor: `pay` plus `requests` HTTP round trips that do nothing (GET /healthz), what no flow of
    that many requests through this HTTP stack can beat."""

    def floor(client: int, member: int, n: int) -> None:
        for _ in range(requests):
            connections[client].get("/healthz").raise_for_status()
        pay(client, member, n)

    return floor


@dataclass
class Measured:
    """Rounds of every variant, `clients` at a time, interleaved; latency and this process's CPU.

    Each client pays `per_round // clients` times a round, as members `member_index` hands it: members
    no other client uses (so no two payments in flight spend the same balance), in turn."""

    clients: int
    per_round: int
    rounds: int
    members: int
    latencies: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    app_cpu: dict[str, list[float]] = field(default_factory=dict)  # the clients' threads only
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    _payments: Iterator[int] = field(default_factory=itertools.count)  # unique request ids in a run

    def __post_init__(self) -> None:
        if not 1 <= self.clients <= self.members:
            raise ValueError(f"{self.clients} clients need as many members, there are {self.members}")
        self.per_client = self.per_round // self.clients

    def member_index(self, client: int, count: int) -> int:
        """The member of a client's `count`-th payment in a variant: one of its own, in turn."""
        return client + self.clients * (count % (self.members // self.clients))

    def run(self, variants: dict[str, Pay]) -> None:
        for name in variants:
            self.latencies[name], self.cpu[name], self.app_cpu[name] = [], [], []
        self.samples = interleaved([(n, self._round(n, pay)) for n, pay in variants.items()], self.rounds)

    def _round(self, name: str, pay: Pay) -> Callable[[], Sample]:
        def paying(client: int) -> float:
            """One client's payments this round; its thread's CPU (the app's side) for them."""
            cpu_start = time.thread_time()
            done_before = len(self.cpu[name]) * self.per_client  # this variant's earlier rounds
            for count in range(done_before, done_before + self.per_client):
                t = time.perf_counter()
                pay(client, self.member_index(client, count), next(self._payments))
                self.latencies[name].append(time.perf_counter() - t)
            return time.thread_time() - cpu_start

        def one_round() -> Sample:
            start, cpu_start = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(self.clients) as pool:  # a client's exception is raised here
                app_seconds = list(pool.map(paying, range(self.clients)))
            done = self.clients * self.per_client
            self.cpu[name].append((time.process_time() - cpu_start) / done)
            self.app_cpu[name].append(sum(app_seconds) / done)
            return Sample(done, time.perf_counter() - start)

        return one_round

    def report(self, baseline: str, goal: float, floor: str | None) -> None:
        print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        for name, found in self.latencies.items():
            ms = sorted(x * 1000 for x in found)
            p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            rate = statistics.median(s.rate for s in self.samples[name])
            cpu = statistics.median(self.cpu[name]) * 1000
            pairs = zip(self.cpu[name], self.app_cpu[name], strict=True)
            served = statistics.median(c - a for c, a in pairs) * 1000
            print(f"  {name:8} {rate:7.1f} payments/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
                  f"   CPU {cpu:5.2f} ms/payment, of it the service's threads {served:5.2f}")  # fmt: skip
        for name in self.latencies:
            if name == baseline:
                continue
            ratios = paired_ratios(self.samples, name, baseline)
            note = f"; goal >= {goal:.2f}x" if name != floor else ": the most a two-request flow can reach"
            print(f"  {name} / {baseline}: {statistics.median(ratios):.2f}x"
                  f" (rounds {min(ratios):.2f}-{max(ratios):.2f}){note}")  # fmt: skip
