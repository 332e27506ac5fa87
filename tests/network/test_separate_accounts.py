"""Separate hosts, tested on one machine (issue 17, item 2): each organisation's steps and nodes run as its
own Unix account, its home 0700 and its own, the organisations reaching each other only over TCP on
127.0.0.1.

On a network of its own, brought up step by step as the per-organisation commands (`org up`, `channel
create`, `channel join`, `chaincode approve`, `chaincode commit`), each run by `seocho_network.accounts` as
the organisation that owns the step: a step that read another organisation's private files would fail
here. Then a coin movement commits through the Gateway, endorsed by both organisations; every node runs
under its organisation's uid; neither account can read the other's keys (while each reads its own); what
they exchange is the exchange group's only (a local user outside it can neither read nor plant files
there), and each signs a config update the other wrote. Needs root (it creates the accounts
seocho-district and seocho-partners and the group seocho-exchange): a skip elsewhere, a failure under
CI=true.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from fabric_network_support import TEST_PORT_OFFSETS
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, transaction_pb2
from fabric_protos.peer.transaction_pb2 import TxValidationCode
from seocho.cast import client_id_of
from seocho.cli import cli
from seocho.network_setup import initialise_ledger, provision_demo
from seocho_network import Network
from seocho_network.accounts import EXCHANGE_GROUP, SHARED_MODE, Account, AccountSteps, shared_tools
from seocho_network.binaries import MissingBinariesError, find_binaries
from seocho_network.config_updates import signers
from seocho_network.lifecycle import source_digest
from seocho_network.port_offsets import claimed_port_offset
from seocho_network.processes import running_pid
from seocho_network.topology import FABRIC_VERSION_VARIABLE, Organization, load_topology

pytestmark = pytest.mark.fabric

ACCOUNTS = {"SeochoDistrict": "seocho-district", "Partners": "seocho-partners"}


@dataclass
class SeparateNetwork:
    steps: AccountSteps
    network: Network
    said: list[str]

    def account(self, org: Organization) -> Account:
        account = self.steps.account(org)
        assert account is not None
        return account


def _ensure_account(user: str) -> None:
    """A system account without a login, created once (later runs find it)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0 and "already exists" not in done.stderr:
            pytest.fail(f"useradd {user}: {done.stderr.strip()}")


def _ensure_group(group: str) -> None:
    """A system group, created once (later runs find it)."""
    try:
        grp.getgrnam(group)
    except KeyError:
        done = subprocess.run(["groupadd", "--system", group], capture_output=True, text=True, check=False)
        if done.returncode != 0 and "already exists" not in done.stderr:
            pytest.fail(f"groupadd {group}: {done.stderr.strip()}")


def _processes_of(uids: set[int], base: Path) -> list[int]:
    """The accounts' processes this test started: run in, named by or given a path under `base`. The
    accounts are the machine's, so another session's network may run under them too."""
    found = []
    mark = str(base.resolve()).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if _uids(int(entry.name))[0] not in uids:
                    continue
                ours = (entry / "cwd").resolve().is_relative_to(base.resolve()) or any(
                    mark in (entry / name).read_bytes() for name in ("cmdline", "environ")
                )
            except OSError:
                continue
            if ours:
                found.append(int(entry.name))
    return found


def _uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of `pid` (/proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(part) for part in line.split()[1:]]
    raise OSError(f"no Uid line for {pid}")


@pytest.fixture(scope="module")
def accounts() -> dict[str, Account]:
    """The organisations' accounts, created when missing (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("running each organisation as its own Unix account needs root (to create the accounts)")
    for user in ACCOUNTS.values():
        _ensure_account(user)
    _ensure_group(EXCHANGE_GROUP)
    return {org: Account.named(user) for org, user in ACCOUNTS.items()}


@pytest.fixture
def shared_directory() -> Iterator[Path]:
    """A directory every account can reach (pytest's temporary directories are root's, 0700)."""
    base = Path(tempfile.mkdtemp(prefix="seocho-accounts-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_an_account_runs_the_project_from_a_copy_when_the_checkout_is_not_readable(
    accounts: dict[str, Account], shared_directory: Path
) -> None:
    version = load_topology().fabric_version
    tools = shared_tools(shared_directory, version, copy_project=True)
    program = (
        "import seocho_network, seocho_coin.server; from seocho_network.lifecycle import source_digest; "
        "print(seocho_network.__file__); print(source_digest())"
    )
    partners = accounts["Partners"]
    done = subprocess.run(
        [str(tools.python), "-c", program], capture_output=True, text=True, check=False, cwd="/",
        user=partners.uid, group=partners.gid, extra_groups=[], env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    where, digest = done.stdout.split()
    assert Path(where).is_relative_to(shared_directory / "project")
    # The same chaincode code, hence the same package IDs as the checkout's.
    assert digest == source_digest()
    for program in ("peer", "orderer", "osnadmin", "configtxgen"):
        assert os.access(tools.fabric_cache / f"fabric-{version}" / "bin" / program, os.X_OK)


@pytest.fixture(scope="module")
def separate(
    accounts: dict[str, Account], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeparateNetwork]:
    try:
        find_binaries(os.environ.get(FABRIC_VERSION_VARIABLE) or None)
    except MissingBinariesError as exc:
        pytest.skip(str(exc))
    # Not under pytest's temporary directory: it is root's, 0700, and the accounts must reach their homes.
    base = Path(tempfile.mkdtemp(prefix="seocho-accounts-", dir="/tmp"))
    base.chmod(0o755)
    said: list[str] = []
    offsets = [offset for offset in TEST_PORT_OFFSETS if offset < 50_000]  # locked ones are skipped
    uids = {account.uid for account in accounts.values()}
    try:
        with claimed_port_offset(offsets) as offset:
            network = Network.open(base / "network", say=said.append, port_offset=offset)
            tools = shared_tools(base / "tools", network.topology.fabric_version)
            steps = AccountSteps(base / "network", ACCOUNTS, tools, offset, say=said.append)
            try:
                steps.prepare()
                steps.up()
                steps.deploy()
                # The client's steps (the demo's cast; the ledger's first policy), as root.
                provision_demo(steps.home, say=said.append)
                initialise_ledger(steps.home, say=said.append)
            except BaseException:
                print("\n".join(said))
                raise
            try:
                yield SeparateNetwork(steps, network, said)
            finally:
                steps.down()
    finally:
        # Whatever of the accounts' outlived `org down` (processes this test started through them).
        for pid in _processes_of(uids, base):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


def test_each_organisations_home_is_its_own_and_closed(separate: SeparateNetwork) -> None:
    for org in separate.network.topology.organizations:
        info = separate.steps.org_home(org).stat()
        assert (info.st_uid, info.st_mode & 0o777) == (separate.account(org).uid, 0o700), org.name


def test_every_node_runs_as_its_organisations_account(separate: SeparateNetwork) -> None:
    network = separate.network
    by_domain = {org.domain: org for org in network.topology.organizations}
    pid_files = network.pid_files()
    # CAs, orderers, peers and the coin's chaincode servers.
    assert len(pid_files) == len(network.topology.node_ids()) + len(by_domain)
    for node_id, pid_file in pid_files.items():
        pid = running_pid(pid_file)
        assert pid is not None, f"{node_id} is not running"
        org = next(by_domain[d] for d in by_domain if node_id.endswith("." + d))
        uid = separate.account(org).uid
        assert _uids(pid) == [uid] * 4, node_id


def test_the_organisations_listen_on_the_loopback_interface_only(separate: SeparateNetwork) -> None:
    uids = {separate.account(org).uid for org in separate.network.topology.organizations}
    listening: list[tuple[str, int]] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, uid = fields[1], fields[3], int(fields[7])
            if state == "0A" and uid in uids:  # LISTEN
                address, port = local.split(":")
                listening.append((address, int(port, 16)))
    ports = set(separate.network.topology.ports())
    assert {port for _, port in listening} == ports
    # 127.0.0.1, on an IPv4 socket or as ::ffff:127.0.0.1 on an IPv6 one (gRPC's Python servers).
    assert {address for address, _ in listening} <= {"0100007F", "0000000000000000FFFF00000100007F"}


def _private_keys(separate: SeparateNetwork, org: Organization) -> list[Path]:
    """The organisation's CA keys (signing and Idemix issuer keys), node keys and admin keys."""
    layout = separate.network.layout
    keystores = [layout.ca_home(org) / "msp" / "keystore", layout.tls_ca_home(org) / "msp" / "keystore"]
    keystores += [layout.node(node.node_id).msp / "keystore" for node in (*org.orderers, *org.peers)]
    keystores.append(layout.org_admin(org).msp / "keystore")
    keys = [key for keystore in keystores for key in keystore.iterdir()]
    keys += [layout.node(node.node_id).tls_key for node in (*org.orderers, *org.peers)]
    keys.append(layout.org_admin(org).tls_key)
    assert all(key.is_file() for key in keys)
    return keys


_OPEN_EACH = """
import json, sys
outcome = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as stream:
            outcome[path] = "read" if stream.read() else "empty"
    except OSError as exc:
        outcome[path] = type(exc).__name__
print(json.dumps(outcome))
"""


def _open_as(separate: SeparateNetwork, account: Account, paths: list[Path]) -> dict[str, str]:
    """What a child running as `account` (os.setuid, no supplementary groups) gets opening each path."""
    python = str(separate.steps.tools.python)
    done = subprocess.run(
        [python, "-c", _OPEN_EACH, *map(str, paths)], capture_output=True, text=True, check=True,
        user=account.uid, group=account.gid, extra_groups=[], cwd="/", env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def test_one_organisations_account_cannot_read_anothers_keys(separate: SeparateNetwork) -> None:
    district, partners = separate.network.topology.organizations[:2]
    for reader, owner in ((partners, district), (district, partners)):
        keys = _private_keys(separate, owner)
        refused = _open_as(separate, separate.account(reader), keys)
        assert set(refused.values()) == {"PermissionError"}, reader.name
        # Its own account reads them: the refusal is the other account's, not a missing file.
        assert set(_open_as(separate, separate.account(owner), keys).values()) == {"read"}, owner.name


_TRY_EACH = """
import json, os, sys
outcome = {}
for path in sys.argv[1:]:
    try:
        if os.path.isdir(path):  # plant a file in it
            os.close(os.open(os.path.join(path, "planted"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            outcome[path] = "planted"
        else:
            with open(path, "rb") as stream:
                outcome[path] = "read" if stream.read() else "empty"
    except OSError as exc:
        outcome[path] = type(exc).__name__
print(json.dumps(outcome))
"""


def test_what_the_organisations_exchange_is_theirs_only(separate: SeparateNetwork) -> None:
    gid = grp.getgrnam(EXCHANGE_GROUP).gr_gid
    directories = separate.steps.shared_directories()
    for shared in directories:
        info = shared.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, gid, SHARED_MODE), shared
    layout = separate.network.layout
    exchanged = [layout.genesis_block]
    for org in separate.network.topology.organizations:
        exchanged += [path for path in layout.definition(org).rglob("*")]
    assert len(exchanged) > 2
    for path in exchanged:  # the group's, readable by its members (the setgid directories see to it)
        info = path.stat()
        assert info.st_gid == gid and info.st_mode & stat.S_IRGRP, path
    # A local user outside the consortium can neither plant a file nor read one there.
    python = str(separate.steps.tools.python)
    paths = [*map(str, directories), str(layout.genesis_block)]
    outsider = pwd.getpwnam("nobody")
    done = subprocess.run(
        [python, "-c", _TRY_EACH, *paths], capture_output=True, text=True, check=True, cwd="/",
        user=outsider.pw_uid, group=outsider.pw_gid, extra_groups=[], env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert set(json.loads(done.stdout).values()) == {"PermissionError"}, done.stdout
    assert not any((directory / "planted").exists() for directory in directories)


def test_each_organisations_account_signs_an_update_the_other_wrote(separate: SeparateNetwork) -> None:
    """The district proposes and the partners sign first (a file they do not own), then the district:
    each signature replaces the file with a signed copy of the signer's. Never submitted: the channel is
    unchanged."""
    steps, layout = separate.steps, separate.network.layout
    district, partners = separate.network.topology.organizations[:2]
    orderer = district.orderers[-1]
    steps.run(district, "channel", "remove-consenter", orderer.node_id, "--org", district.name)
    update = layout.updates_dir / f"remove-consenter-{orderer.node_id}.pb"
    gid = grp.getgrnam(EXCHANGE_GROUP).gr_gid
    try:
        assert update.stat().st_uid == separate.account(district).uid
        assert signers(update) == []
        steps.run(partners, "channel", "sign", str(update), "--org", partners.name)
        assert signers(update) == [partners.msp_id]
        assert update.stat().st_uid == separate.account(partners).uid
        steps.run(district, "channel", "sign", str(update), "--org", district.name)
        assert signers(update) == [partners.msp_id, district.msp_id]
        info = update.stat()
        assert (info.st_uid, info.st_gid) == (separate.account(district).uid, gid)
        assert info.st_mode & stat.S_IRGRP
        assert [path.name for path in layout.updates_dir.iterdir() if path.name.endswith(".signing")] == []
    finally:
        update.unlink(missing_ok=True)


def _endorsers(network: Network, request_id: str) -> tuple[list[str], int]:
    """The MSP ids endorsing the transaction whose arguments hold `request_id`, and its validation code,
    read from the district peer's blocks."""
    from seocho.backend import connect_gateway
    from seocho.profile import load_profile

    peer_admin = network.peer_admin(network.topology.organizations[0].peers[0])
    height = peer_admin.height(network.topology.channel)
    with connect_gateway(load_profile(network.layout.profile), "district-auditor") as gateway:
        channel = gateway.get_network(network.topology.channel)
        with channel.block_events(start_block=max(height - 5, 0), timeout=30) as blocks:
            for block in blocks:
                codes = bytes(block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER])
                for index, raw in enumerate(block.data.data):
                    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
                    header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
                    if header.type != common_pb2.HeaderType.ENDORSER_TRANSACTION:
                        continue
                    for action in transaction_pb2.Transaction.FromString(payload.data).actions:
                        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
                        proposal = proposal_pb2.ChaincodeProposalPayload.FromString(
                            action_payload.chaincode_proposal_payload
                        )
                        arguments = chaincode_pb2.ChaincodeInvocationSpec.FromString(proposal.input)
                        if request_id.encode() in arguments.chaincode_spec.input.args:
                            endorsers = [
                                identities_pb2.SerializedIdentity.FromString(e.endorser).mspid
                                for e in action_payload.action.endorsements
                            ]
                            return sorted(endorsers), codes[index]
                if block.header.number + 1 >= height:
                    break
    raise AssertionError(f"no transaction with {request_id} in the last blocks")


def _client_id(network: Network, name: str, msp_id: str = "SeochoDistrictMSP") -> str:
    """What the chaincode binds `name` by (Go's cid.GetID()), from its certificate in the demo's cast."""
    (certificate,) = (network.layout.users / name / "msp" / "signcerts").iterdir()
    return client_id_of(
        identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=certificate.read_bytes()).SerializeToString()
    )


def test_a_coin_movement_endorsed_by_both_organisations_commits(separate: SeparateNetwork) -> None:
    network = separate.network
    profile = str(network.layout.profile)

    def seocho(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--profile", profile, *args])
        assert result.exit_code == 0, result.output + result.stderr
        return result.stdout.strip()

    staff = "staff-welfare"  # the welfare centre's manager: a Partners identity of the demo's cast
    seocho("--as", "district-admin", "institution", "register", "seocho-welfare", "welfare_centre",
           "--activity", "volunteer_hour", "--sells-services", "--quota", "30000",
           "--staff-msp", "PartnersMSP")  # fmt: skip
    year = str(datetime.now(ZoneInfo("Asia/Seoul")).year)
    staff_id, member_id = _client_id(network, staff, "PartnersMSP"), _client_id(network, "member-S-0001")
    seocho("--as", "district-admin", "institution", "allowance", "seocho-welfare", staff_id, year, "100")
    seocho("--as", "district-registrar", "member", "register", "S-0001", member_id, "--category", "senior")
    seocho("--as", staff, "earn", "S-0001", "volunteer_hour", "2", "--evidence", "ab" * 32,
           "--request-id", "VOL-ACCOUNTS-1")  # fmt: skip
    balance = json.loads(seocho("--as", "member-S-0001", "--json", "balance", "S-0001"))
    assert balance["coins"] == 6, balance  # 3 coins an hour
    endorsers, code = _endorsers(network, "VOL-ACCOUNTS-1")
    assert (endorsers, code) == (["PartnersMSP", "SeochoDistrictMSP"], TxValidationCode.VALID)
