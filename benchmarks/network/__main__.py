"""`python -m benchmarks.network [--quick]`: the Python stack against Fabric's Go chaincode and Node client.

Brings up the project's network in its own home directory on a locked free port offset, deploys the
reference chaincodes beside the coin (`bring_up.py`), runs the coin's hot-key patterns
(`coin_load.py`), then every load case, repeated and alternating (`drivers.py`), prints every run,
the medians and the ratios measured in this run, and stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from seocho_network import Network
from seocho_network.binaries import FABRIC_VERSIONS
from seocho_network.lifecycle import ChaincodeService
from seocho_network.topology import FABRIC_VERSION_VARIABLE

from benchmarks.network import bring_up, coin_load
from benchmarks.network.drivers import RunResult, ensure_node_client, median, run_driver, wait_a_moment

# (client, chaincode, mode, workload)
CASES = [
    ("node", "go_kv", "submit", "kv"),
    ("node", "py_kv", "submit", "kv"),
    ("node", "go_null", "submit", "null"),
    ("node", "py_null", "submit", "null"),
    ("node", "go_kv", "evaluate", "kv_read"),
    ("node", "py_kv", "evaluate", "kv_read"),
    ("python", "go_kv", "submit", "kv"),
    ("python", "py_kv", "submit", "kv"),
    ("python", "coin", "submit", "coin_pay"),
    ("python", "coin", "submit", "coin_earn"),
]
BATCHED_CASES = [  # Fabric 3 only: the reference's kvbatch and our twin, reads in one GET_STATE_MULTIPLE
    ("node", "go_kvbatch", "submit", "kv_wide"),
    ("node", "py_kvbatch", "submit", "kv_wide"),
    ("node", "go_kvbatch", "evaluate", "kv_wide_read"),
    ("node", "py_kvbatch", "evaluate", "kv_wide_read"),
]
RATIOS = [
    ("py_kv_vs_go_kv", "node py_kv submit", "node go_kv submit", "Python kvexecutor / Go, Node client"),
    ("py_null_vs_go_null", "node py_null submit", "node go_null submit", "Python null / Go null, Node"),
    ("py_kv_eval_vs_go_kv_eval", "node py_kv evaluate", "node go_kv evaluate", "the same, evaluate"),
    ("pyclient_vs_nodeclient", "python go_kv submit", "node go_kv submit", "our Python client / Node, Go kv"),
    ("coin_pay_vs_py_kv", "python coin coin_pay", "python py_kv submit", "coin pay / Python kv"),
    ("coin_earn_vs_py_kv", "python coin coin_earn", "python py_kv submit", "coin earn / Python kv"),
    ("py_kvbatch_vs_go_kvbatch", "node py_kvbatch submit", "node go_kvbatch submit",
     "Python kvbatch / Go kvbatch, Node (Fabric 3)"),
    ("py_kvbatch_eval_vs_go_kvbatch_eval", "node py_kvbatch evaluate", "node go_kvbatch evaluate",
     "the same, evaluate"),
]  # fmt: skip
SEED_KEYS = 100


def case_name(case: tuple[str, str, str, str]) -> str:
    client, chaincode, mode, workload = case
    return f"{client} {chaincode} {workload if chaincode == 'coin' else mode}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.network", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round of 5 s runs (a few minutes in all)")
    parser.add_argument("--inflight", type=int, default=64, help="transactions in flight per case (max 64)")
    parser.add_argument("--seconds", type=float, help="measured seconds per run (default 15; quick 5)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per run (default 3; quick 2)")
    parser.add_argument("--rounds", type=int, help="rounds of every case, alternating (default 3; quick 1)")
    parser.add_argument("--only", action="append", default=[], help="run only cases whose name has this")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the Python chaincode and client into DIR")
    parser.add_argument("--skip-hot-keys", action="store_true", help="no hot-key patterns, no coin cases")
    parser.add_argument(
        "--fabric", choices=FABRIC_VERSIONS, help="the Fabric release (default: the topology's)"
    )
    args = parser.parse_args(argv)
    if args.fabric:
        os.environ[FABRIC_VERSION_VARIABLE] = args.fabric
    if not 1 <= args.inflight <= 64:
        parser.error("--inflight must be 1..64 (coin earn gives each worker its own allowance lane)")
    settings = {
        "inflight": args.inflight,
        "seconds": args.seconds or (5.0 if args.quick else 15.0),
        "warmup": args.warmup or (2.0 if args.quick else 3.0),
        "rounds": args.rounds or (1 if args.quick else 3),
        "profile": args.profile,
        "skip_hot_keys": args.skip_hot_keys,
    }
    ensure_node_client()
    started = time.monotonic()
    with bring_up.locked_port_offset() as offset, tempfile.TemporaryDirectory(prefix="seocho-bench-") as home:
        network = Network.open(Path(home) / "network", say=lambda line: None, port_offset=offset)
        try:
            run(network, settings, args.only, offset)
        finally:
            network.down(purge=True)
            print(f"network stopped and removed ({time.monotonic() - started:.0f} s in all)")


def say(line: str) -> None:
    print(line, flush=True)


def run(network: Network, settings: dict[str, Any], only: list[str], offset: int) -> None:
    say(f"bringing up the network (port offset {offset})")
    bring_up.coin_network_up(network)
    services = bring_up.reference_services(network)
    for name, service in services.items():
        say(f"  deploying {name}")
        network.deploy(service=service)
    print_settings(network, settings)
    kv_client = bring_up.plain_client(network, "bench-client")
    seed_reference_keys(network, kv_client)
    every = CASES + (BATCHED_CASES if "go_kvbatch" in services else [])
    cases = [c for c in every if not only or any(o in case_name(c) for o in only)]
    world = None
    if not settings["skip_hot_keys"]:
        say("hot keys: the four patterns, each submitted all at once (Python client)")
        world, patterns = coin_load.build(network, settings["inflight"], say)
        for pattern, codes in patterns.items():
            say(f"  {pattern:<70} " + ", ".join(f"{k} {v}" for k, v in sorted(codes.items())))
    else:
        cases = [c for c in cases if c[1] != "coin"]
    runs: dict[str, list[RunResult]] = {case_name(c): [] for c in cases}
    say(f"load cases: {settings['rounds']} round(s), order rotating each round")
    for round_index in range(settings["rounds"]):
        rotated = cases[round_index % len(cases) :] + cases[: round_index % len(cases)]
        for case in rotated:
            result = run_case(network, services, case, settings, kv_client, world, round_index)
            runs[case_name(case)].append(result)
            say(f"  [round {round_index + 1}] {format_run(case_name(case), result)}")
            for kind, count in result.retries.items():
                say(f"      retried: {kind} x{count}")
            for kind, texts in result.error_messages.items():
                for text in texts:
                    say(f"      {kind}: {text}")
            wait_a_moment()
    print_summary(runs)
    print_ratios(runs, settings["rounds"])


def run_case(
    network: Network,
    services: dict[str, ChaincodeService],
    case: tuple[str, str, str, str],
    settings: dict[str, Any],
    kv_client: bring_up.Client,
    world: coin_load.CoinWorld | None,
    round_index: int,
) -> RunResult:
    client_kind, chaincode, mode, workload_kind = case
    prefix = f"r{round_index}-{client_kind}-{int(time.time() * 1000)}"
    workload: dict[str, Any] = {
        "kind": workload_kind,
        "prefix": prefix,
        "seedPrefix": "seed",
        "seedKeys": SEED_KEYS,
    }
    identities = None
    client = kv_client
    if chaincode == "coin":
        assert world is not None
        name = network.topology.chaincode.name
        servers = [org.chaincode_server.node_id for org in network.topology.organizations]
        workload |= {"institution": coin_load.INSTITUTION, "evidence": coin_load.EVIDENCE,
                     "members": world.members[: settings["inflight"]]}  # fmt: skip
        if workload_kind == "coin_pay":
            identities = world.member_clients[: settings["inflight"]]
        else:
            identities = [world.staff]
        client = identities[0]
    else:
        service = services[chaincode]
        name = service.spec.name
        servers = [service.server_id(org) for org in network.topology.organizations]
    watched = {
        "peer": pids(network, [p.node_id for o in network.topology.organizations for p in o.peers]),
        "orderer": pids(network, [o.node_id for org in network.topology.organizations for o in org.orderers]),
        "chaincode": pids(network, servers),
    }
    settings = settings | {"case": case_name(case)}
    return run_driver(client_kind, client, name, mode, workload, settings, watched, identities)


def pids(network: Network, node_ids: list[str]) -> list[int]:
    found = []
    for node_id in node_ids:
        with contextlib.suppress(OSError, ValueError, IndexError):  # the file holds "pid starttime"
            found.append(int(network.layout.node(node_id).pid.read_text().split()[0]))
    return found


def seed_reference_keys(network: Network, client: bring_up.Client) -> None:
    """The 100 keys every kv transaction reads one of, written once in each kv chaincode."""
    import base64
    import json

    import fabric_gateway as fg

    writes = [{"key": f"seed-{i}", "value": "s" * 32} for i in range(SEED_KEYS)]
    arguments = [base64.b64encode(json.dumps(x).encode()).decode() for x in ([], writes)]
    identity, signer = fg.load_msp_directory(client.msp_id, client.msp_dir)
    with fg.connect(client.address, identity, signer, tls_root_certs=client.tls_root,
                    server_name_override=client.server_name) as gateway:  # fmt: skip
        for chaincode in ("gokv", "pykv", "gokvbatch", "pykvbatch"):
            if chaincode.endswith("batch") and network.topology.fabric_major < 3:
                continue
            gateway.get_network(client.channel).get_contract(chaincode).submit_transaction(
                "readWriteKVs", *arguments
            )


def print_settings(network: Network, settings: dict[str, Any]) -> None:
    topology = network.topology
    orgs = topology.organizations
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    say("settings (the same for every case):")
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    machine = platform.processor() or platform.machine()
    say(f"  date {now}; {os.cpu_count()} CPUs ({machine}); Python {platform.python_version()}; Node {node}")
    orderers, peers = sum(len(o.orderers) for o in orgs), sum(len(o.peers) for o in orgs)
    release = f"Fabric {topology.fabric_version}"
    say(f"  {release}: {orderers} Raft orderers, {peers} peers of {len(orgs)} organisations (LevelDB);")
    say("  TLS on every endpoint, mutual TLS from the peers to every chaincode server")
    say(f"  ordering: batch_timeout {topology.batch_timeout}, "
        f"max_message_count {topology.max_message_count}")  # fmt: skip
    say(f"  endorsement policy of every chaincode (the coin's too): {topology.chaincode.endorsement_policy}")
    say(f"  {settings['inflight']} transactions in flight, {settings['warmup']:.0f} s warm-up, "
        f"{settings['seconds']:.0f} s measured, {settings['rounds']} round(s)")  # fmt: skip
    say("  clients: the official Node client @hyperledger/fabric-gateway 1.12.1, with a signer on Node's")
    say("  built-in crypto (node:crypto sign, DER, low-S), and our fabric_gateway, at the district's peer")
    say("  kv: readWriteKVs reads 1 of 100 seed keys, writes 2 fresh keys (32-byte values); evaluate reads 1")
    if topology.fabric_major >= 3:
        say("  kvbatch (kv_wide): reads 8 seed keys in one call, writes 8 fresh keys in one batch;")
        say("  evaluate reads the 8 keys only")
        say("  every Python chaincode sends its writes in one WRITE_BATCH_STATE (the peer offers it)")


def format_run(name: str, r: RunResult) -> str:
    cpu = " ".join(f"{k} {v:.2f}" for k, v in r.cpu_ms_per_tx.items())
    bad = ", ".join(f"{k} {v}" for k, v in sorted(r.non_valid.items())) or "none"
    return (f"{name:<24} {r.tps:8.1f} tx/s  p50 {r.p50_ms:6.0f} ms  p99 {r.p99_ms:6.0f} ms  "
            f"non-VALID: {bad}  CPU ms/tx: {cpu}")  # fmt: skip


def print_summary(runs: dict[str, list[RunResult]]) -> None:
    say("summary (median of the runs; CPU = ms of CPU per committed tx, from /proc)")
    say(f"  {'case':<24} {'tx/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'peer':>6} {'orderer':>7} {'chaincode':>9} "
        f"{'client':>6}  non-VALID (sum)")  # fmt: skip
    for name, results in runs.items():
        if not results:
            continue
        bad: dict[str, int] = {}
        for r in results:
            for k, v in r.non_valid.items():
                bad[k] = bad.get(k, 0) + v
        cpu = {k: median([r.cpu_ms_per_tx[k] for r in results]) for k in results[0].cpu_ms_per_tx}
        tps, p50, p99 = (median([getattr(r, f) for r in results]) for f in ("tps", "p50_ms", "p99_ms"))
        say(f"  {name:<24} {tps:8.1f} {p50:7.0f} {p99:7.0f} {cpu['peer']:6.2f} {cpu['orderer']:7.2f} "
            f"{cpu['chaincode']:9.2f} {cpu['client']:6.2f}  {bad or 'none'}")  # fmt: skip


def print_ratios(runs: dict[str, list[RunResult]], rounds: int) -> None:
    say("ratios (median of per-round ratios, [min .. max])")
    for label, top, bottom, meaning in RATIOS:
        pairs = list(zip(runs.get(top, []), runs.get(bottom, []), strict=False))
        values = sorted(a.tps / b.tps for a, b in pairs if b.tps > 0)
        if not values:
            continue
        say(f"  {label:<26} {median(values):6.3f}  [{values[0]:.3f} .. {values[-1]:.3f}]  {meaning}")


if __name__ == "__main__":
    main()
