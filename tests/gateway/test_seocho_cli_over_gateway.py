"""`seocho --profile`: the coin CLI through a Gateway (here the double, over real gRPC + TLS).

Identities are MSP directories and the peer is named by a profile, exactly as on a real network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from embedded_ledger import EmbeddedLedger, RemoteChaincode
from fabric_ca import Enrollment
from fabric_shim.cid import ClientIdentity
from gateway_double import RunningGateway, serve
from loopback_ports import free_port
from seocho.backend import CHAINCODE_NAME, open_embedded_ledger
from seocho.cli import cli
from seocho.demo import cast_names
from tls_pki import TlsMaterial

PEOPLE = {
    "admin": ("SeochoDistrictMSP", {"seocho.role": "admin"}),
    "registrar": ("SeochoDistrictMSP", {"seocho.role": "registrar"}),
    "staff": (
        "PartnersMSP",
        {"seocho.role": "staff", "seocho.institution": "wc-01", "seocho.manager": "true"},
    ),
    "M-1": ("SeochoDistrictMSP", {"seocho.role": "member"}),
}


@pytest.fixture
def coin_peer(tls: TlsMaterial) -> Iterator[tuple[RunningGateway, EmbeddedLedger]]:
    with open_embedded_ledger(None) as ledger:
        running = serve(ledger, tls)
        yield running, ledger
        running.stop()


@pytest.fixture
def profile(tmp_path: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], tls: TlsMaterial) -> Path:
    running, ledger = coin_peer
    (tmp_path / "tls-ca.pem").write_bytes(tls.ca_pem)
    identities = {}
    for name, (msp_id, attributes) in PEOPLE.items():
        issued = ledger.identities.enroll(name, msp_id, attributes)
        enrollment = Enrollment(
            issued.certificate_pem.encode(), issued._private_key, issued.certificate_pem.encode()
        )
        enrollment.write_msp(tmp_path / "users" / name / "msp")
        identities[name] = {"msp_id": msp_id, "msp_dir": f"users/{name}/msp"}
    document = {
        "channel": ledger.channel_id,
        "chaincode": CHAINCODE_NAME,
        "gateway": {"address": running.target, "tls_root_cert": "tls-ca.pem"},
        "identities": identities,
    }
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def seocho(profile: Path, who: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--profile", str(profile), "--as", who, "--json", *args])
    return result.exit_code, result.stdout, result.stderr


def client_id(ledger: EmbeddedLedger, name: str) -> str:
    return str(ClientIdentity(ledger.identities.get(name).serialized()).id)


def test_coin_operations_through_the_gateway(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger], tmp_path: Path
) -> None:
    _, ledger = coin_peer
    year = str((datetime.now(UTC) + timedelta(hours=9)).year)
    steps = [
        ("admin", "init"),
        (
            "admin",
            "institution",
            "register",
            "wc-01",
            "welfare_centre",
            "--activity",
            "volunteer_hour",
            "--sells-services",
            "--quota",
            "1000",
            "--staff-msp",
            "PartnersMSP",
        ),
        ("admin", "institution", "allowance", "wc-01", client_id(ledger, "staff"), year, "100"),
        ("registrar", "member", "register", "M-1", client_id(ledger, "M-1"), "--category", "senior"),
        ("staff", "earn", "M-1", "volunteer_hour", "3", "--evidence", "cd" * 32, "--request-id", "VOL-1"),
        (
            "M-1",
            "pay",
            "M-1",
            "wc-01",
            "--price",
            "2000",
            "--coins",
            "4",
            "--service",
            "gym",
            "--request-id",
            "PAY-1",
        ),
    ]
    for who, *args in steps:
        code, out, err = seocho(profile, who, *args)
        assert code == 0, (args, err)
    code, out, _ = seocho(profile, "M-1", "balance", "M-1")
    assert code == 0 and json.loads(out)["coins"] == 5

    checkpoint = tmp_path / "events.checkpoint"
    code, out, _ = seocho(
        profile, "admin", "events", "--since", "0", "--checkpoint", str(checkpoint), "--count", "2"
    )
    # The registration's member event (for reporting stores), then the earning.
    assert code == 0 and [json.loads(line)["name"] for line in out.splitlines()] == ["member", "earn"]
    # A restarted follower resumes after the checkpointed event.
    code, out, _ = seocho(profile, "admin", "events", "--checkpoint", str(checkpoint), "--count", "1")
    assert code == 0 and [json.loads(line)["name"] for line in out.splitlines()] == ["pay"]


def test_refusals_keep_the_chaincode_status_and_exit_code(profile: Path) -> None:
    assert seocho(profile, "admin", "init")[0] == 0
    code, _, err = seocho(
        profile, "M-1", "institution", "register", "x-1", "welfare_centre", "--staff-msp", "PartnersMSP"
    )
    assert code == 4 and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = seocho(profile, "admin", "balance", "NOBODY")
    assert code == 5
    code, _, err = seocho(profile, "admin", "init")
    assert code == 6 and "already" in err


def test_unknown_identity_and_unreachable_peer(profile: Path, tmp_path: Path) -> None:
    code, _, err = seocho(profile, "mallory", "report")
    assert code == 1 and "names no identity 'mallory'" in err
    document = yaml.safe_load(profile.read_text())
    document["gateway"]["address"] = "127.0.0.1:1"  # nothing listens there
    dead = tmp_path / "dead.yaml"
    dead.write_text(yaml.safe_dump(document))
    code, _, err = seocho(dead, "admin", "report")
    assert code == 8 and err.startswith("error: the peer did not answer")


def test_bad_profiles_are_one_line_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    for text, fragment in [
        ("gateway: [1]", "gateway needs address"),
        ("gateway: {address: x}", "tls_root_cert must be"),
        (": :", "not valid YAML"),
    ]:
        broken.write_text(text)
        code, _, err = seocho(broken, "admin", "report")
        assert code == 1 and fragment in err and err.count("\n") == 1
    code, _, err = seocho(tmp_path / "missing.yaml", "admin", "report")
    assert code == 1 and "cannot read profile" in err


def write_profile(
    tmp_path: Path,
    running: RunningGateway,
    ledger: EmbeddedLedger,
    tls: TlsMaterial,
    people: list[tuple[str, str, dict[str, str]]],
) -> Path:
    (tmp_path / "tls-ca.pem").write_bytes(tls.ca_pem)
    identities = {}
    for name, msp_id, attributes in people:
        issued = ledger.identities.enroll(name, msp_id, attributes)
        pem = issued.certificate_pem.encode()
        Enrollment(pem, issued._private_key, pem).write_msp(tmp_path / "users" / name / "msp")
        identities[name] = {"msp_id": msp_id, "msp_dir": f"users/{name}/msp"}
    path = tmp_path / "demo-profile.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "channel": ledger.channel_id,
                "chaincode": CHAINCODE_NAME,
                "gateway": {"address": running.target, "tls_root_cert": "tls-ca.pem"},
                "identities": identities,
            }
        )
    )
    return path


def test_the_demo_tells_the_same_story_on_a_network(
    coin_peer: tuple[RunningGateway, EmbeddedLedger], tls: TlsMaterial, tmp_path: Path
) -> None:
    running, ledger = coin_peer
    profile = write_profile(tmp_path, running, ledger, tls, cast_names())
    result = CliRunner().invoke(cli, ["--profile", str(profile), "demo", "--json"])
    assert result.exit_code == 0, result.stderr
    on_network = json.loads(result.stdout)
    embedded = json.loads(CliRunner().invoke(cli, ["demo", "--json"]).stdout)
    for key in ("members", "participants", "coins", "krw", "by_activity", "by_institution", "policy_version"):
        assert on_network[key] == embedded[key]
    # Only the dates differ: the embedded story runs in 2023, on a network today (peers check the time).
    assert all(month.startswith("2023-") for month in embedded["by_month"])
    assert _month_totals(on_network) == _month_totals(embedded)
    # The story really ran on the peer's ledger: one block per transaction, one event per coin movement.
    assert ledger.height > 30
    kinds = [event.name for event in ledger.chaincode_events(CHAINCODE_NAME)]
    assert kinds.count("earn") == sum(row["count"] for row in embedded["by_activity"].values())


def _month_totals(report: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in report["by_month"].values():
        for verb, coins in counts.items():
            totals[verb] = totals.get(verb, 0) + coins
    return totals


def test_the_network_demo_checks_the_cast_first(
    coin_peer: tuple[RunningGateway, EmbeddedLedger], tls: TlsMaterial, tmp_path: Path
) -> None:
    running, ledger = coin_peer
    people = cast_names()
    name, msp_id, _ = people[0]
    people[0] = (name, msp_id, {"seocho.role": "auditor"})  # the admin's certificate says auditor
    profile = write_profile(tmp_path, running, ledger, tls, people)
    result = CliRunner().invoke(cli, ["--profile", str(profile), "demo"])
    assert result.exit_code == 1
    expected = "identity district-admin's certificate lacks the attributes the demo needs: seocho.role=admin"
    assert result.stderr == f"error: {expected}\n"
    assert ledger.height == 1  # nothing was submitted


def test_a_chaincode_server_that_is_down_is_exit_8_with_the_peers_detail(
    profile: Path, coin_peer: tuple[RunningGateway, EmbeddedLedger]
) -> None:
    running, ledger = coin_peer
    package_id = "seocho_1.0:" + "ab" * 32
    server = RemoteChaincode(f"127.0.0.1:{free_port()}", package_id, dial_timeout=1.0)
    ledger.install(CHAINCODE_NAME, server)
    running.double.chaincode_servers[CHAINCODE_NAME] = server
    try:
        for who, args in (("admin", ("policy", "show")), ("admin", ("init",))):  # evaluate, then submit
            code, out, err = seocho(profile, who, *args)
            assert code == 8, err
            assert err.startswith("error: the chaincode is not running: ") and err.count("\n") == 1
            assert f"could not launch chaincode {package_id}" in err and "Org1MSP" in err
            assert "see attached details" not in err and out == ""
    finally:
        server.close()


def test_a_channel_the_peer_does_not_have_is_a_profile_error_naming_it(profile: Path) -> None:
    document = yaml.safe_load(profile.read_text())
    document["channel"] = "seocho-typo"
    profile.write_text(yaml.safe_dump(document))
    code, _, err = seocho(profile, "admin", "policy", "show")
    assert code == 1 and err.count("\n") == 1
    assert "no channel 'seocho-typo'" in err and "profile" in err and "did not answer" not in err
    code, _, err = seocho(profile, "admin", "init")
    assert code == 1 and "'seocho-typo'" in err and "profile" in err
