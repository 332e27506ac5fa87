"""Certificates renew themselves under load (issue 18, item 4): `network.sh renew` on a network whose CAs
issue certificates valid for minutes.

On a network of its own (the session's certificates are valid for a year): its CAs issue certificates
valid for 20 minutes (`certificates.lifetime` in a copy of the topology), so every certificate of the
nodes, admins, registrars, operations and chaincode clients and the profile's users is due within a
21-minute window as soon as the network is up. Before renewing, the CAs are set to issue 40-minute
certificates (their config, then a restart), so that what renewal issues lies beyond the window: a
CA with a single lifetime shorter than the window would make every renewed certificate due again.

While four clients earn, pay and donate, `renew --within 21m` renews everything due, one node at a
time. Then: every certificate but the CA roots expires beyond the window, each was reissued to the
same identity (subject) with a new serial, every node answers, every orderer's consenter entry in the
channel config carries its new TLS certificate (on SmartBFT its enrolment certificate too), every
orderer's admin endpoint accepts the renewed admin TLS certificate it pins, the coin chaincode runs on
a new sequence (its packages carry the renewed chaincode client certificates), and from the block
stream nothing the clients were told committed is lost, doubled or phantom, balances are exact, and a
fresh load (new connections, renewed client certificates) commits. The renewal's time and each node's
are printed (measured). SEOCHO_FABRIC_VERSION=3.1.5 SEOCHO_ORDERER_TYPE=bft runs it on SmartBFT.
"""

from __future__ import annotations

import ssl
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from fabric_network_support import RunningNetwork, start_session_network
from load import Load
from polling import wait_for
from seocho.cli import cli
from seocho_network import channel, config_updates
from seocho_network.certificate_exporter import CA, certificate_files
from seocho_network.cli import cli as network_cli
from seocho_network.configs import set_certificate_lifetime
from seocho_network.consenter_certificates import consenter_identities, consenter_tls_certificates
from seocho_network.crypto import chaincode_client_name
from seocho_network.processes import running_pid
from seocho_network.reenrolment import renew_tls
from seocho_network.renewal import due_certificates, renew
from seocho_network.topology import BFT
from test_faults_under_load import Fault, FaultRun, check_ledger, print_summary, resolve_unknowns

pytestmark = [pytest.mark.fabric, pytest.mark.faults]

TOPOLOGY = Path(__file__).resolve().parents[2] / "network" / "topology.yaml"
FIRST_LIFETIME = "20m"
RENEWED_LIFETIME = "40m"
WINDOW = timedelta(minutes=21)


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    directory = tmp_path_factory.mktemp("renewal")
    document = yaml.safe_load(TOPOLOGY.read_text(encoding="utf-8"))
    document["certificates"] = {"lifetime": FIRST_LIFETIME}
    topology = directory / "topology.yaml"
    topology.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    for running in start_session_network(directory / "home", topology):
        told = CliRunner().invoke(cli, ["--profile", str(running.profile()), "demo", "--json"])
        assert told.exit_code == 0, told.stderr
        yield running


def certificates(running: RunningNetwork) -> dict[Path, x509.Certificate]:
    return {
        file.path: x509.load_pem_x509_certificate(file.path.read_bytes())
        for file in certificate_files(running.network.layout.root)
        if file.kind != CA
    }


def lengthen_the_cas_lifetime(running: RunningNetwork) -> None:
    network = running.network
    for ca in network.topology.cas:
        set_certificate_lifetime(
            network.layout.ca_server_home(ca) / "fabric-ca-server-config.yaml", RENEWED_LIFETIME
        )
        network.runtime.stop([ca])
        network.runtime.start([ca])


@pytest.mark.timeout(900)  # the module's network comes up in this test's setup
def test_dry_run_lists_every_due_certificate_and_changes_nothing(
    short_lived: RunningNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = short_lived.network
    before = {path: cert.serial_number for path, cert in certificates(short_lived).items()}
    monkeypatch.setenv("SEOCHO_NETWORK_PORT_OFFSET", str(network.topology.port_offset))
    args = ["--home", str(network.layout.root), "--topology", str(TOPOLOGY)]
    told = CliRunner().invoke(network_cli, [*args, "renew", "--within", "21m", "--dry-run"])
    assert told.exit_code == 0, told.output
    due = due_certificates(network.layout.root, WINDOW)
    assert {d.path for d in due if d.kind != CA} == set(before), "a certificate of the network is not due"
    for node in [*network.topology.orderers, *network.topology.peers]:
        assert f" {node.node_id}:" in told.output, told.output
    assert "chaincode client of Partners" in told.output
    told = CliRunner().invoke(network_cli, [*args, "renew", "--within", "a month"])
    assert told.exit_code != 0 and "--within" in told.output
    assert {path: cert.serial_number for path, cert in certificates(short_lived).items()} == before


@pytest.mark.timeout(1800)
def test_every_certificate_renews_under_load(short_lived: RunningNetwork) -> None:
    network = short_lived.network
    lengthen_the_cas_lifetime(short_lived)
    before = certificates(short_lived)
    sequence_before = network.committed()
    assert sequence_before is not None
    run = FaultRun(short_lived)
    run.load = Load(short_lived, workers=4)
    processes = [*network.topology.orderers, *network.topology.peers]
    timing: dict[str, float] = {}

    def renew_all(run: FaultRun) -> Fault:
        began = time.monotonic()
        wait_for(lambda: run.valid_since(began), "no VALID commit before the renewal")
        files = [network.layout.node(node.node_id).pid for node in processes]
        old = [running_pid(f) or 0 for f in files]
        started = time.monotonic()
        renew(network, WINDOW)
        timing["renew"] = time.monotonic() - started
        new = [running_pid(f) or 0 for f in files]
        assert all(new) and not set(new) & set(old), f"not every node restarted: {old} -> {new}"
        return Fault([n.node_id for n in processes], old, new, started, time.monotonic())

    try:
        measured = run.under_load("renew every certificate", renew_all, fault_timeout=1200)
        # `under_load` counted lost, duplicated and phantom from the block stream (all 0).
        check_ledger(run)
    finally:
        print_summary(run)
    steps = [
        line.removeprefix("renew: ")
        for line in short_lived.said
        if line.startswith("renew: ") and "took" in line
    ]
    refused = Counter(o.detail for o in measured.outcomes if o.result != "valid")
    print(
        f"\nrenewal of {len(before)} certificates under load: {timing.get('renew', 0):.1f} s "
        f"({'; '.join(steps)}); not valid: {dict(refused)}"
    )

    # Every certificate is reissued to the same subject, and none expires within the window.
    after = certificates(short_lived)
    assert set(after) == set(before)
    horizon = datetime.now(UTC) + WINDOW
    for path, certificate in after.items():
        old = before[path]
        assert certificate.serial_number != old.serial_number, f"{path} was not renewed"
        assert certificate.subject == old.subject and certificate.issuer == old.issuer, path
        assert certificate.not_valid_after_utc > horizon, f"{path} still expires within the window"
    assert not [d for d in due_certificates(network.layout.root, WINDOW) if d.kind != CA]
    assert renew(network, WINDOW).empty  # a second run finds nothing to do and restarts nothing

    # The nodes answer, the ordering service has a leader; the consenters carry the new certificates.
    assert set(network.runtime.states().values()) == {"up"}, network.runtime.states()
    assert channel.ordering_leader(network) is not None
    for orderer in network.topology.orderers:  # the admin endpoints pin the renewed admin TLS certificates
        assert network.orderer_admin(orderer).info(network.topology.channel)["height"] > 0
    config = config_updates.channel_config(network, short_lived.district)
    orderers = [network.layout.node(o.node_id) for o in network.topology.orderers]
    assert set(consenter_tls_certificates(config)) == {files.tls_cert.read_bytes() for files in orderers}
    if network.topology.orderer_type == BFT:  # SmartBFT's mapping also names their enrolment certificates
        signcerts = {(files.msp / "signcerts" / "cert.pem").read_bytes() for files in orderers}
        assert set(consenter_identities(config)) == signcerts
    # The chaincode client's certificate is in the packages: a new sequence serves new package IDs.
    definition = network.committed()
    assert definition is not None and definition.sequence == sequence_before.sequence + 1

    # New connections with the renewed client certificates commit.
    fresh, _ = Load(short_lived, workers=2).run(8.0)
    resolve_unknowns(short_lived, fresh)
    results = Counter(o.result for o in fresh)
    assert results["valid"] > 0, results
    assert measured.lost == measured.duplicated == measured.phantom == 0


@pytest.mark.timeout(600)
def test_the_next_run_finishes_an_interrupted_renewal(short_lived: RunningNetwork) -> None:
    """As if a run stopped after writing files: a peer renewed but not restarted, a chaincode client
    renewed but its packages not replaced. Nothing is due any more, yet the next run finishes both."""
    network = short_lived.network
    peer = short_lived.partners.peers[0]
    files = network.layout.node(peer.node_id)
    renew_tls(network.layout, network.topology, files)
    renew_tls(
        network.layout, network.topology, network.layout.node(chaincode_client_name(short_lived.district))
    )
    sequence = network.committed()
    assert sequence is not None and not due_certificates(network.layout.root, WINDOW)
    pid = running_pid(files.pid)

    plan = renew(network, WINDOW)

    assert plan.peers == [peer] and peer.node_id in plan.restart_only
    assert plan.stale_packages == [short_lived.district] and not plan.certificates
    assert running_pid(files.pid) not in (None, pid)
    presented = ssl.get_server_certificate(("127.0.0.1", peer.port), timeout=5)
    assert ssl.PEM_cert_to_DER_cert(presented) == ssl.PEM_cert_to_DER_cert(files.tls_cert.read_text())
    definition = network.committed()
    assert definition is not None and definition.sequence == sequence.sequence + 1
    assert renew(network, WINDOW).empty
    fresh, _ = Load(short_lived, workers=2).run(6.0)
    resolve_unknowns(short_lived, fresh)
    assert any(o.result == "valid" for o in fresh), Counter(o.result for o in fresh)
