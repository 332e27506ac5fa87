"""Load driver on our Python client (`fabric_gateway`) for benchmarks/network: the twin of node/load.mjs.

Run as `python -m benchmarks.network.pyload` with one JSON request on stdin (written by `drivers.py`).
`inflight` threads each keep one transaction in flight; "MEASURING" is printed when the warm-up ends;
after `seconds` more, one JSON line: {latenciesMs, codes, errors, seconds}, counting the transactions
that completed inside the measured window. Besides the reference workloads (`kv`, `kv_read`, `null`,
with the same keys and values as the Node driver) it drives the coin: `coin_pay` (worker i's member
pays the institution one coin of a 200 KRW fee) and `coin_earn` (one staff member credits worker i's
member one course session, in allowance lane i, so that no two workers touch one key).
"""

from __future__ import annotations

import base64
import json
import random
import sys
import threading
import time
from typing import Any

import fabric_gateway as fg
import grpc
from fabric_gateway.gateway import MAX_MESSAGE_BYTES

VALUE = "v" * 32
DISAGREED = "ProposalResponsePayloads do not match"
CODE_NAMES = {0: "VALID", 2: "DUPLICATE_TXID", 10: "ENDORSEMENT_POLICY_FAILURE", 11: "MVCC_READ_CONFLICT",
              12: "PHANTOM_READ_CONFLICT"}  # fmt: skip


def _b64json(value: Any) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def arguments(workload: dict[str, Any], worker: int, sequence: int) -> tuple[str, list[str]]:
    kind = workload["kind"]
    if kind in ("kv", "kv_read"):
        seed = {"key": f"{workload['seedPrefix']}-{random.randrange(workload['seedKeys'])}"}
        if kind == "kv_read":
            return "readWriteKVs", [_b64json([seed]), _b64json([])]
        base = f"{workload['prefix']}-{worker}-{sequence}"
        writes = [{"key": f"{base}-a", "value": VALUE}, {"key": f"{base}-b", "value": VALUE}]
        return "readWriteKVs", [_b64json([seed]), _b64json(writes)]
    if kind == "null":
        return "noop", []
    request_id = f"{workload['prefix']}-{worker}-{sequence}"
    member = workload["members"][worker]
    if kind == "coin_pay":
        return "pay", [member, workload["institution"], "200", "1", "gym", request_id]
    if kind == "coin_earn":
        evidence = workload["evidence"]
        return "earn", [member, "course_session", "1", evidence, request_id, str(worker)]
    raise ValueError(f"unknown workload {kind}")


def main() -> None:
    request = json.loads(sys.stdin.read())
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.ssl_target_name_override", request["serverName"]),
    ]
    with open(request["tlsRootCertPath"], "rb") as root:
        credentials = grpc.ssl_channel_credentials(root_certificates=root.read())
    channel = grpc.secure_channel(request["address"], credentials, options=options)
    timeouts = fg.Timeouts(evaluate=30, endorse=30, submit=30, commit_status=60)
    gateways = []
    for msp_id, msp_dir in request["identities"]:  # one per worker, or one shared by all
        identity, signer = fg.load_msp_directory(msp_id, msp_dir)
        gateways.append(fg.Gateway(channel, identity, signer, timeouts=timeouts))
    contracts = [g.get_network(request["channel"]).get_contract(request["chaincode"]) for g in gateways]
    start = time.monotonic()
    measure_from = start + request["warmupSeconds"]
    measure_to = measure_from + request["seconds"]
    latencies: list[float] = []
    codes: dict[str, int] = {}
    errors: dict[str, int] = {}
    retries: dict[str, int] = {}
    messages: dict[str, list[str]] = {}  # the first few of each kind, with the peers' own messages
    lock = threading.Lock()
    measuring = threading.Event()

    def record(table: dict[str, int], name: str, began: float, ended: float) -> None:
        if measure_from <= ended <= measure_to:
            with lock:
                table[name] = table.get(name, 0) + 1
                if table is codes and name == "VALID":
                    latencies.append((ended - began) * 1000)

    coin = request["workload"]["kind"].startswith("coin_")

    def endorse(contract: fg.Contract, fn: str, args: list[str], began: float) -> fg.Transaction:
        """The coin cases endorse as the coin SDK (`seocho.gateway_backend`) does: when the two
        organisations' peers disagree ("ProposalResponsePayloads do not match": one has not yet
        committed the block with this member's last movement, so it reads older versions), nothing
        was submitted, and the endorsement is asked again after a pause; counted as a retry."""
        for pause in (0.1, 0.3, 0.9, None):
            try:
                return contract.new_proposal(fn, *args).endorse()
            except fg.EndorseError as exc:
                if not coin or pause is None or DISAGREED not in str(exc):
                    raise
                record(retries, "endorsers disagreed, asked again", began, time.monotonic())
                time.sleep(pause)
        raise AssertionError("unreachable")

    def worker(index: int) -> None:
        contract = contracts[index % len(contracts)]
        sequence = 0
        while time.monotonic() < measure_to:
            fn, args = arguments(request["workload"], index, sequence)
            sequence += 1
            began = time.monotonic()
            try:
                if request["mode"] == "evaluate":
                    contract.evaluate_transaction(fn, *args)
                    code = "VALID"
                else:
                    status = endorse(contract, fn, args, began).submit().status()
                    code = CODE_NAMES.get(status.code, f"CODE_{status.code}")
            except fg.GatewayError as exc:
                kind = f"{type(exc).__name__}:{getattr(exc, 'code', '')}"
                record(errors, kind, began, time.monotonic())
                with lock:
                    seen = messages.setdefault(kind, [])
                    if len(seen) < 3:
                        seen.append(str(exc)[:600])
                continue
            record(codes, code, began, time.monotonic())

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(request["inflight"])]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.monotonic()))
    measuring.set()
    print("MEASURING", flush=True)
    for thread in threads:
        thread.join()
    for gateway in gateways:
        gateway.close()
    channel.close()
    result = {"latenciesMs": latencies, "codes": codes, "errors": errors, "seconds": request["seconds"],
              "errorMessages": messages, "retries": retries}  # fmt: skip
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
