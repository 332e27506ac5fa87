"""A peer joining a running channel from genesis against from a ledger snapshot, at the same height.

    python -m benchmarks.snapshot_join [--blocks 2000] [--keys 500] [--inflight 8] [--rounds 1]

Brings up the project's network (3 Raft orderers, a peer of each organisation) in a temporary home on a
locked free port offset, with blocks cut small (`--batch-timeout`, `--block-size`) so that a long chain
builds quickly, and deploys `gokv` (Fabric's kvexecutor on the Go shim, the coin's endorsement policy).
It commits blind writes of `--keys` keys (a coin ledger's state is bounded, its movements are not) until
the channel has `--blocks` blocks. Then the district's second peer (network/orgs/district-peer1.yaml) is
issued, started and given the chaincode, and each round times, at the same channel height and with no
load, its join from block 0 (`peer channel join`, until its height is the orderers') and, after its
ledger is wiped, its join from a snapshot the district's first peer takes at that height
(`peer channel joinbysnapshot`, until caught up). The order alternates by round. It prints both times,
their ratio (genesis / snapshot) per round and the median, and the snapshot's size and time to take.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import fabric_gateway as fg
import yaml
from seocho_network import Network, snapshots
from seocho_network.membership import join_running_peers
from seocho_network.topology import DEFAULT_TOPOLOGY

from benchmarks.network import bring_up

FRAGMENT = Path(__file__).resolve().parents[1] / "network" / "orgs" / "district-peer1.yaml"


def say(line: str) -> None:
    print(line, flush=True)


def _topology(directory: Path, batch_timeout: str, block_size: int) -> Path:
    document = yaml.safe_load(DEFAULT_TOPOLOGY.read_text(encoding="utf-8"))
    document["ordering"] |= {"batch_timeout": batch_timeout, "max_message_count": block_size}
    path = directory / "topology.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _b64json(value: object) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def build_chain(network: Network, blocks: int, keys: int, inflight: int) -> tuple[int, int, float]:
    """Blind writes of `keys` keys from `inflight` threads until the channel has `blocks` blocks;
    returns (transactions committed, distinct keys they wrote, seconds)."""
    client = bring_up.plain_client(network, "snapshot-bench")
    identity, signer = fg.load_msp_directory(client.msp_id, client.msp_dir)
    done = threading.Event()
    committed = [0] * inflight
    written: set[str] = set()  # counted: once the indices wrap past --keys, workers rewrite each other's keys
    failures: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            with fg.connect(
                client.address, identity, signer, tls_root_certs=client.tls_root,
                server_name_override=client.server_name,
            ) as gateway:  # fmt: skip
                contract = gateway.get_network(client.channel).get_contract("gokv")
                sequence = 0
                while not done.is_set():
                    key = f"k{(number + sequence * inflight) % keys}"
                    value = f"{number}-{sequence}"
                    contract.submit_transaction(
                        "readWriteKVs", _b64json([]), _b64json([{"key": key, "value": value}])
                    )
                    committed[number] += 1
                    written.add(key)
                    sequence += 1
        except BaseException as exc:  # one failed worker ends the build with its error
            failures.append(exc)
            done.set()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(inflight)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    admin, last_said = network.peer_admin(network.topology.peers[0]), 0.0
    while not done.is_set():
        height = admin.height(network.topology.channel)
        if height >= blocks:
            break
        if time.monotonic() - last_said > 30:
            last_said = time.monotonic()
            say(f"  height {height} of {blocks}, {sum(committed)} transactions, {last_said - began:.0f} s")
        done.wait(1.0)
    done.set()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return sum(committed), len(written), time.monotonic() - began


def _timed(step: Callable[[], object]) -> float:
    began = time.monotonic()
    step()
    return time.monotonic() - began


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def run(network: Network, args: argparse.Namespace) -> None:
    say(f"bringing up the network (batch timeout {args.batch_timeout}, at most {args.block_size} tx a block)")
    network.up()
    say("deploying gokv (kvexecutor, official Go shim)")
    network.deploy(service=bring_up.reference_services(network)["go_kv"])
    say(f"building the chain: blind writes of {args.keys} keys, {args.inflight} in flight")
    transactions, state, seconds = build_chain(network, args.blocks, args.keys, args.inflight)
    channel = network.topology.channel
    source = network.topology.peers[0]
    height = snapshots.wait_caught_up(network, network.topology.peers[1])
    say(f"  {transactions} transactions in {seconds:.0f} s; channel height {height}")

    extra = Network.open(
        network.layout.root, say=lambda line: None, port_offset=network.topology.port_offset,
        topology_file=args.topology_file, joined=[FRAGMENT],
    )  # fmt: skip
    district = extra.topology.organizations[0]
    joining = district.peers[1]
    say(f"starting {joining.node_id} (identity, process, chaincode install: not timed)")
    extra.org_up(district)
    snapshots.install_served_chaincodes(extra, joining)

    def wipe() -> None:
        extra.runtime.stop([joining])
        shutil.rmtree(extra.layout.node(joining.node_id).data)
        extra.runtime.start([joining])

    taken: list[float] = []

    def from_snapshot() -> float:
        began = time.monotonic()
        snapshot = snapshots.take(extra, source)
        taken.append(time.monotonic() - began)
        assert snapshot.height == height, (snapshot.height, height)
        sizes.append(_size(snapshot.directory))
        seconds = _timed(lambda: snapshots.join_from_snapshot(extra, [joining], snapshot))
        assert snapshots.bootstrapped_at(extra, joining) == snapshot.last_block
        return seconds

    def from_genesis() -> float:
        seconds = _timed(lambda: join_running_peers(extra, district))
        assert snapshots.bootstrapped_at(extra, joining) is None
        return seconds

    sizes: list[int] = []
    ratios, genesis_times, snapshot_times = [], [], []
    for number in range(args.rounds):
        order = [("genesis", from_genesis), ("snapshot", from_snapshot)]
        if number % 2:
            order.reverse()
        measured = {}
        for name, join in order:
            if extra.peer_admin(joining).channels():
                wipe()
            measured[name] = join()
            assert extra.peer_admin(joining).height(channel) >= height
        genesis_times.append(measured["genesis"])
        snapshot_times.append(measured["snapshot"])
        ratios.append(measured["genesis"] / measured["snapshot"])
        say(
            f"  round {number + 1}: from genesis {measured['genesis']:.2f} s, from a snapshot "
            f"{measured['snapshot']:.2f} s, ratio {ratios[-1]:.2f}"
        )
    extra.runtime.stop([joining])
    say(f"== joining at height {height} ({transactions} transactions, {state} keys of state) ==")
    say(f"  from genesis      {statistics.median(genesis_times):8.2f} s (median of {args.rounds})")
    say(f"  from a snapshot   {statistics.median(snapshot_times):8.2f} s (median of {args.rounds})")
    say(f"  genesis_vs_snapshot {statistics.median(ratios):.2f}  [{min(ratios):.2f} .. {max(ratios):.2f}]")
    say(
        f"  snapshot: {sizes[-1] / 1024:.0f} KiB, written in {taken[0]:.2f} s by {source.node_id} "
        f"(not in the join time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=2000, help="The channel's height to build.")
    parser.add_argument("--keys", type=int, default=500, help="How many keys the writes go to.")
    parser.add_argument("--inflight", type=int, default=8, help="Transactions in flight while building.")
    parser.add_argument("--rounds", type=int, default=1, help="Rounds of both joins (order alternating).")
    parser.add_argument("--batch-timeout", default="50ms", help="The orderers' batch timeout.")
    parser.add_argument("--block-size", type=int, default=4, help="At most this many transactions a block.")
    args = parser.parse_args()
    began = time.monotonic()
    with bring_up.locked_port_offset() as offset, tempfile.TemporaryDirectory(prefix="seocho-snap-") as home:
        args.topology_file = _topology(Path(home), args.batch_timeout, args.block_size)
        network = Network.open(
            Path(home) / "network",
            topology_file=args.topology_file,
            say=lambda line: None,
            port_offset=offset,
        )
        try:
            run(network, args)
        finally:
            extra = Network.open(
                network.layout.root, topology_file=args.topology_file, say=lambda line: None,
                port_offset=offset, joined=[FRAGMENT],
            )  # fmt: skip
            extra.down(purge=True)
    say(f"network stopped and removed ({time.monotonic() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
