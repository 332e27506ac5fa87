"""The coin's side of the benchmark: its world (an institution, staff, members with coins) and the four
hot-key patterns, each submitted all at once on the real network and counted by validation code.

Patterns: (a) 200 members paying one institution; (b) 50 earnings attested by 50 staff; (c) 50
earnings entered by ONE staff member, each in its own allowance lane; (d) 50 allowance allocations
by the admin, each from its own lane of the quota pool. Contrast: (c) with every earning in lane 0,
which is what one allowance key per staff did before lanes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fabric_gateway as fg
import grpc
from fabric_shim.cid import ClientIdentity
from seocho_network import Network

from benchmarks.network.bring_up import Client, coin_identities, profile_identity
from benchmarks.network.pyload import CODE_NAMES

INSTITUTION = "bench-cc"
EVIDENCE = "ab" * 32
PATTERN_MEMBERS = 200
PATTERN_STAFF = 50


@dataclass
class CoinWorld:
    staff: Client
    members: list[str]
    member_clients: list[Client]
    pattern_staff: list[Client]


class Connections:
    """One gRPC channel to the district's peer; a Gateway per identity on it."""

    def __init__(self, client: Client) -> None:
        options = [("grpc.ssl_target_name_override", client.server_name)]
        credentials = grpc.ssl_channel_credentials(root_certificates=client.tls_root.read_bytes())
        self.channel = grpc.secure_channel(client.address, credentials, options=options)
        self.gateways: list[fg.Gateway] = []

    def contract(self, client: Client, chaincode: str = "seocho") -> fg.Contract:
        identity, signer = fg.load_msp_directory(client.msp_id, client.msp_dir)
        timeouts = fg.Timeouts(evaluate=30, endorse=60, submit=30, commit_status=120)
        gateway = fg.Gateway(self.channel, identity, signer, timeouts=timeouts)
        self.gateways.append(gateway)
        return gateway.get_network(client.channel).get_contract(chaincode)

    def close(self) -> None:
        for gateway in self.gateways:
            gateway.close()
        self.channel.close()


def client_id(client: Client) -> str:
    identity, _ = fg.load_msp_directory(client.msp_id, client.msp_dir)
    return str(ClientIdentity(identity.serialize()).id)


def at_once(calls: list[Callable[[], Any]]) -> dict[str, int]:
    """Submit every call at the same moment (one thread each); counts by validation code."""
    barrier = threading.Barrier(len(calls))
    codes: dict[str, int] = {}
    lock = threading.Lock()

    def one(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            name = CODE_NAMES.get(call().get_status().code, "OTHER")
        except fg.GatewayError as exc:
            # An endorsement refused by the chaincode, or endorsements that differ between the peers.
            details = "; ".join(sorted({d.message for d in exc.details})) or str(exc)
            name = f"refused: {details[:160]}"
        with lock:
            codes[name] = codes.get(name, 0) + 1

    with ThreadPoolExecutor(len(calls)) as pool:
        list(pool.map(one, calls))
    return codes


def submitted(contract: fg.Contract, fn: str, *args: str) -> Callable[[], Any]:
    return lambda: contract.submit_async(fn, *args)


def build(
    network: Network, inflight: int, say: Callable[[str], None]
) -> tuple[CoinWorld, dict[str, dict[str, int]]]:
    """The coin's world for the load cases, made with the hot-key patterns (whose counts it returns)."""
    admin, registrar = (
        profile_identity(network, "district-admin"),
        profile_identity(network, "district-registrar"),
    )
    count = max(PATTERN_MEMBERS, inflight)
    names = {"bench-staff": {"seocho.role": "staff", "seocho.institution": INSTITUTION}}
    names |= {f"bench-hk-staff-{i:02d}": {"seocho.role": "staff", "seocho.institution": INSTITUTION}
              for i in range(PATTERN_STAFF)}  # fmt: skip
    members = [f"BM-{i:04d}" for i in range(count)]
    names |= {f"bench-{m}": {"seocho.role": "member"} for m in members}
    say(f"  enrolling {len(names)} coin identities from the district's CA")
    made = coin_identities(network, names)
    staff, pattern_staff = (
        made["bench-staff"],
        [made[f"bench-hk-staff-{i:02d}"] for i in range(PATTERN_STAFF)],
    )
    member_clients = [made[f"bench-{m}"] for m in members]
    year = str((datetime.now(UTC) + timedelta(hours=9)).year)
    links = Connections(admin)
    patterns: dict[str, dict[str, int]] = {}
    try:
        as_admin, as_registrar = links.contract(admin), links.contract(registrar)
        with ThreadPoolExecutor(8) as pool:
            staff_ids = list(pool.map(client_id, [staff, *pattern_staff]))
            member_ids = list(pool.map(client_id, member_clients))
        as_admin.submit_transaction(
            "register_institution", INSTITUTION, "community_centre", '["course_session"]', "true", "false",
            "100000000", admin.msp_id,
        )  # fmt: skip
        as_admin.submit_transaction("allocate_allowance", INSTITUTION, staff_ids[0], year, "10000000", "0")
        say(f"  registering {count} members")
        for start in range(0, count, 50):
            batch = zip(members[start : start + 50], member_ids[start : start + 50], strict=True)
            at_once([submitted(as_registrar, "register_member", m, '["senior"]', cid) for m, cid in batch])
        patterns["(d) 50 allocations by the admin, one lane each"] = at_once(
            [submitted(as_admin, "allocate_allowance", INSTITUTION, cid, year, "640", str(i))
             for i, cid in enumerate(staff_ids[1:])]
        )  # fmt: skip
        as_staff = links.contract(staff)
        say("  crediting every member (64 earnings at a time, one lane each)")
        for start in range(0, count, 64):
            at_once([submitted(as_staff, "earn", m, "course_session", "10000", EVIDENCE, f"seed-{m}", str(i))
                     for i, m in enumerate(members[start:start + 64])])  # fmt: skip
        patterns["(c) 50 earnings by one staff, one lane each"] = at_once(
            [submitted(as_staff, "earn", m, "course_session", "1", EVIDENCE, f"hk-c-{m}", str(i))
             for i, m in enumerate(members[:PATTERN_STAFF])]
        )  # fmt: skip
        patterns["(c') contrast: the same, all in lane 0 (the old one-key allowance)"] = at_once(
            [submitted(as_staff, "earn", m, "course_session", "1", EVIDENCE, f"hk-c0-{m}", "0")
             for m in members[:PATTERN_STAFF]]
        )  # fmt: skip
        hk_staff = [links.contract(c) for c in pattern_staff]
        patterns["(b) 50 earnings by 50 staff"] = at_once(
            [submitted(c, "earn", m, "course_session", "1", EVIDENCE, f"hk-b-{m}")
             for c, m in zip(hk_staff, members[PATTERN_STAFF:], strict=False)]
        )  # fmt: skip
        payers = [links.contract(c) for c in member_clients[:PATTERN_MEMBERS]]
        patterns["(a) 200 members paying one institution"] = at_once(
            [submitted(c, "pay", m, INSTITUTION, "1000", "5", "gym", f"hk-a-{m}")
             for c, m in zip(payers, members, strict=False)]
        )  # fmt: skip
    finally:
        links.close()
    return CoinWorld(staff, members, member_clients, pattern_staff), patterns
