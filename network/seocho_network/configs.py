"""Each node's configuration, rendered from the topology over the Fabric release's own sample configs.

The release's `config/core.yaml` and `config/orderer.yaml` document and default every setting; we load
them from the installed release and set only what this network decides (addresses, TLS, MSP, data
directories, the chaincode-as-a-service builder), so a Fabric upgrade brings its new defaults along.
`configtx.yaml` is ours entirely: it is the channel's constitution.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .binaries import FabricBinaries, run_tool
from .crypto import BOOTSTRAP_USER, bootstrap_secret
from .layout import CA_OPERATIONS, NetworkLayout, NodeFiles
from .processes import ProcessSpec
from .topology import BFT, LOOPBACK, TLS_CA, CertificateAuthority, Orderer, Organization, Peer, Topology

CHANNEL_PROFILE = "SeochoChannel"


def _set(document: dict[str, Any], dotted: str, value: Any) -> None:
    node = document
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def _write_yaml(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def node_environment() -> dict[str, str]:
    # Nodes get a clean environment: no CORE_*/ORDERER_* left in the caller's shell can override the config.
    keep = ("PATH", "HOME", "LANG", "TZ")
    return {key: os.environ[key] for key in keep if key in os.environ}


def _ca_flags(ca: CertificateAuthority) -> list[str]:
    return [
        "--address", LOOPBACK, "--port", str(ca.port), "--tls.enabled", "--ca.name", ca.node_id,
        "--csr.cn", ca.node_id, "--csr.hosts", f"{ca.node_id},{LOOPBACK},localhost",
    ]  # fmt: skip


def _ca_environment(layout: NetworkLayout, ca: CertificateAuthority) -> dict[str, str]:
    return node_environment() | {
        "FABRIC_CA_SERVER_HOME": str(layout.ca_server_home(ca)),
        "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS": f"{LOOPBACK}:{ca.operations_port}",
        "FABRIC_CA_SERVER_METRICS_PROVIDER": "prometheus",
    }


def ca_operations_environment(ca: CertificateAuthority, home: Path) -> dict[str, str]:
    """The CA server's operations endpoint on TLS, client certificates of the organisation's TLS CA required.

    `home` is the CA server's home as the server sees it (on the host, or in its container). The server
    presents the certificate `ca_operations.issue` had the TLS CA issue it; the TLS CA trusts its own
    root for clients, the identity CA the copy of that root written beside its certificate.
    fabric-ca-server 1.5.15 documents `clientAuthRequired` and `clientRootCAs.files` but decodes them into
    fields named ClientCertRequired and ClientCACertFiles, so only those names take effect (tried: with
    the documented ones alone, a client without a certificate reads /healthz). Both are given, so a
    release that maps the documented names keeps the endpoint closed.
    """
    files = NodeFiles(home / CA_OPERATIONS)
    roots = str(home / "ca-cert.pem" if ca.kind == TLS_CA else files.tls_ca)
    prefix = "FABRIC_CA_SERVER_OPERATIONS_TLS_"
    return {
        f"{prefix}ENABLED": "true",
        f"{prefix}CERT_FILE": str(files.tls_cert),
        f"{prefix}KEY_FILE": str(files.tls_key),
        f"{prefix}CLIENTCERTREQUIRED": "true",
        f"{prefix}CLIENTCACERTFILES": roots,
        f"{prefix}CLIENTAUTHREQUIRED": "true",
        f"{prefix}CLIENTROOTCAS_FILES": roots,
    }


def initialise_ca(binaries: FabricBinaries, layout: NetworkLayout, ca: CertificateAuthority) -> bool:
    """Creates the CA's keys, database and bootstrap registrar once; False when it exists already.

    The bootstrap secret goes to `fabric-ca-server init` alone, whose output is dropped: the server
    prints its flags, so a `start` given the secret would write it into the CA's log.
    """
    home = layout.ca_server_home(ca)
    config = home / "fabric-ca-server-config.yaml"
    if config.exists():
        return False
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = bootstrap_secret(layout, ca)
    environment = _ca_environment(layout, ca) | {"FABRIC_CA_SERVER_BOOT": f"{BOOTSTRAP_USER}:{secret}"}
    done = subprocess.run([str(binaries.ca_server), "init", *_ca_flags(ca)], env=environment,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        quoted = done.stderr.replace(secret, "***")[-2000:]
        raise RuntimeError(f"fabric-ca-server init failed for {ca.node_id}:\n{quoted}")
    if ca.certificate_lifetime:
        set_certificate_lifetime(config, ca.certificate_lifetime)
    config.chmod(0o600)  # it keeps the bootstrap registrar's secret
    return True


def set_certificate_lifetime(config: Path, lifetime: str) -> None:
    """How long the certificates the CA issues (default and `tls` profiles) are valid, e.g. "10m".

    Read by the server when it starts; its own TLS certificate, made by `init`, keeps the default."""
    document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    signing = document.setdefault("signing", {})
    signing.setdefault("default", {})["expiry"] = lifetime
    profiles = signing.setdefault("profiles", {}) or {}
    signing["profiles"] = profiles
    profiles.setdefault("tls", {})["expiry"] = lifetime
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def ca_process(binaries: FabricBinaries, layout: NetworkLayout, ca: CertificateAuthority) -> ProcessSpec:
    """The CA server, started on what `initialise_ca` made."""
    home = layout.ca_server_home(ca)
    command = [str(binaries.ca_server), "start", *_ca_flags(ca)]
    environment = _ca_environment(layout, ca) | ca_operations_environment(ca, home)
    return ProcessSpec(ca.node_id, command, environment, home, home / "ca.log", home / "ca.pid")


# TLS with client certificates on every node's operations endpoint (/healthz, /metrics, /logspec): only
# holders of a certificate from the organisation's TLS CA (its nodes, admins and operations client, never
# its members) may read metrics, change the log level or even ask for health.


def _orderer_operations_tls(files: NodeFiles) -> dict[str, Any]:
    return {
        "Operations.TLS.Enabled": True,
        "Operations.TLS.Certificate": str(files.tls_cert),
        "Operations.TLS.PrivateKey": str(files.tls_key),
        "Operations.TLS.ClientAuthRequired": True,
        "Operations.TLS.ClientRootCAs": [str(files.tls_ca)],
    }


def _peer_operations_tls(files: NodeFiles) -> dict[str, Any]:
    return {
        "operations.tls.enabled": True,
        "operations.tls.cert.file": str(files.tls_cert),
        "operations.tls.key.file": str(files.tls_key),
        "operations.tls.clientAuthRequired": True,
        "operations.tls.clientRootCAs.files": [str(files.tls_ca)],
    }


ADMIN_CLIENT_ROOTS = "admin-client-roots.pem"


def write_admin_client_roots(layout: NetworkLayout, orderer: Orderer) -> Path:
    """The client roots of the orderer's admin endpoint: its organisation's admin TLS certificate, pinned.

    Go's TLS server accepts a client certificate that is itself in the pool. But Go's TLS client (osnadmin)
    presents its certificate only when the server lists the certificate's issuer among the acceptable
    CAs, which are the subjects of the pool. So the pool also holds a name hint: a certificate with the
    TLS CA's subject, a key nobody keeps and no CA rights, which therefore can vouch for nothing.
    """
    admin_pem = layout.org_admin(orderer.org).tls_cert.read_bytes()
    issuer = x509.load_pem_x509_certificate(admin_pem).issuer
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    hint = (
        x509.CertificateBuilder().subject_name(issuer).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path = layout.node(orderer.node_id).config / ADMIN_CLIENT_ROOTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(admin_pem + hint.public_bytes(serialization.Encoding.PEM))
    return path


def orderer_process(binaries: FabricBinaries, layout: NetworkLayout, orderer: Orderer) -> ProcessSpec:
    files = layout.node(orderer.node_id)
    document = yaml.safe_load((binaries.sample_config / "orderer.yaml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = {
        "General.ListenAddress": LOOPBACK,
        "General.ListenPort": orderer.port,
        "General.TLS.Enabled": True,
        "General.TLS.PrivateKey": str(files.tls_key),
        "General.TLS.Certificate": str(files.tls_cert),
        "General.TLS.RootCAs": [str(files.tls_ca)],
        "General.TLS.ClientAuthRequired": False,
        "General.Cluster.ListenAddress": LOOPBACK,
        "General.Cluster.ListenPort": orderer.cluster_port,
        "General.Cluster.ServerCertificate": str(files.tls_cert),
        "General.Cluster.ServerPrivateKey": str(files.tls_key),
        "General.Cluster.ClientCertificate": str(files.tls_cert),
        "General.Cluster.ClientPrivateKey": str(files.tls_key),
        "General.BootstrapMethod": "none",
        "General.LocalMSPDir": str(files.msp),
        "General.LocalMSPID": orderer.org.msp_id,
        "General.BCCSP.SW.FileKeyStore.KeyStore": str(files.msp / "keystore"),
        "FileLedger.Location": str(files.data / "ledger"),
        "Consensus.WALDir": str(files.data / "etcdraft" / "wal"),
        "Consensus.SnapDir": str(files.data / "etcdraft" / "snapshot"),
        "Operations.ListenAddress": f"{LOOPBACK}:{orderer.operations_port}",
        **_orderer_operations_tls(files),
        "Metrics.Provider": "prometheus",
        "Admin.ListenAddress": f"{LOOPBACK}:{orderer.admin_port}",
        "Admin.TLS.Enabled": True,
        "Admin.TLS.Certificate": str(files.tls_cert),
        "Admin.TLS.PrivateKey": str(files.tls_key),
        "Admin.TLS.ClientAuthRequired": True,
        # The admin endpoint can remove the orderer from a channel: it accepts the organisation's admin's
        # TLS certificate, pinned, and no other (not its nodes', not its members').
        "Admin.TLS.ClientRootCAs": [str(write_admin_client_roots(layout, orderer))],
        "ChannelParticipation.Enabled": True,
    }
    for key, value in settings.items():
        _set(document, key, value)
    _write_yaml(files.config / "orderer.yaml", document)
    environment = node_environment() | {"FABRIC_CFG_PATH": str(files.config)}
    command = [str(binaries.tool("orderer"))]
    return ProcessSpec(orderer.node_id, command, environment, files.root, files.log, files.pid)


def peer_process(binaries: FabricBinaries, layout: NetworkLayout, peer: Peer) -> ProcessSpec:
    files = layout.node(peer.node_id)
    write_peer_config(binaries, layout, peer)
    environment = node_environment() | {"FABRIC_CFG_PATH": str(files.config)}
    command = [str(binaries.tool("peer")), "node", "start"]
    return ProcessSpec(peer.node_id, command, environment, files.root, files.log, files.pid)


def write_peer_config(binaries: FabricBinaries, layout: NetworkLayout, peer: Peer) -> Path:
    files = layout.node(peer.node_id)
    document = yaml.safe_load((binaries.sample_config / "core.yaml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = {
        "peer.id": peer.node_id,
        "peer.networkId": "seocho",
        "peer.listenAddress": peer.address,
        "peer.address": peer.address,
        "peer.chaincodeListenAddress": f"{LOOPBACK}:{peer.chaincode_port}",
        "peer.chaincodeAddress": f"{LOOPBACK}:{peer.chaincode_port}",
        "peer.gossip.bootstrap": peer.address,
        "peer.gossip.endpoint": peer.address,
        # Announced to the other organisation through the anchor peers; discovery needs it.
        "peer.gossip.externalEndpoint": peer.address,
        # A new peer's first dial to the other organisation fails until both have joined the channel;
        # the default 25 s before dialling again is what a fresh `up` would mostly wait for.
        "peer.gossip.reconnectInterval": "5s",
        "peer.gossip.useLeaderElection": False,
        "peer.gossip.orgLeader": True,
        "peer.tls.enabled": True,
        "peer.tls.clientAuthRequired": False,
        "peer.tls.cert.file": str(files.tls_cert),
        "peer.tls.key.file": str(files.tls_key),
        "peer.tls.rootcert.file": str(files.tls_ca),
        "peer.tls.clientRootCAs.files": [str(files.tls_ca)],
        "peer.fileSystemPath": str(files.data),
        "peer.mspConfigPath": str(files.msp),
        "peer.localMspId": peer.org.msp_id,
        "peer.BCCSP.SW.FileKeyStore.KeyStore": str(files.msp / "keystore"),
        # Chaincode runs only as a service (our Python servers): the peer never talks to Docker.
        "vm.endpoint": "",
        "chaincode.externalBuilders": [
            {
                "name": "ccaas_builder",
                "path": str(binaries.ccaas_builder),
                "propagateEnvironment": ["CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"],
            }
        ],
        "chaincode.logging.level": "info",
        "ledger.snapshots.rootDir": str(files.data / "snapshots"),
        "operations.listenAddress": f"{LOOPBACK}:{peer.operations_port}",
        **_peer_operations_tls(files),
        "metrics.provider": "prometheus",
    }
    if "runtimeParams" in document.get("chaincode", {}):
        # v3.1 offers batched chaincode calls in READY (GET_STATE_MULTIPLE, WRITE_BATCH_STATE); said
        # here rather than inherited from the sample, so the network's choice is in its own config.
        settings["chaincode.runtimeParams"] = {
            "useWriteBatch": True,
            "maxSizeWriteBatch": 1000,
            "useGetMultipleKeys": True,
            "maxSizeGetMultipleKeys": 1000,
        }
    for key, value in settings.items():
        _set(document, key, value)
    _write_yaml(files.config / "core.yaml", document)
    return files.config


def _signature(rule: str) -> dict[str, str]:
    return {"Type": "Signature", "Rule": rule}


def _implicit(rule: str) -> dict[str, str]:
    return {"Type": "ImplicitMeta", "Rule": rule}


def _org_section(layout: NetworkLayout, org: Organization) -> dict[str, Any]:
    msp = org.msp_id
    section: dict[str, Any] = {
        "Name": org.name,
        "ID": msp,
        # From the organisation's definition: the channel is made of what the organisations handed over.
        "MSPDir": str(layout.definition_msp(org)),
        "Policies": {
            "Readers": _signature(f"OR('{msp}.member')"),
            "Writers": _signature(f"OR('{msp}.member')"),
            "Admins": _signature(f"OR('{msp}.admin')"),
            "Endorsement": _signature(f"OR('{msp}.peer')"),
        },
    }
    if org.orderers:
        section["OrdererEndpoints"] = [o.address for o in org.orderers]
    if org.peers:
        section["AnchorPeers"] = [{"Host": LOOPBACK, "Port": org.peers[0].port}]
    return section


def _consensus_section(layout: NetworkLayout, topology: Topology) -> dict[str, Any]:
    """The Orderer group's consensus: Raft's consenters, or SmartBFT's consenter mapping and options."""
    if topology.orderer_type != BFT:
        consenters = [
            {
                "Host": LOOPBACK,
                "Port": o.cluster_port,
                "ClientTLSCert": str(layout.consenter_cert(o)),
                "ServerTLSCert": str(layout.consenter_cert(o)),
            }
            for o in topology.orderers
        ]
        return {"OrdererType": "etcdraft", "EtcdRaft": {"Consenters": consenters}}
    mapping = [
        {
            # The consenter's id is in every block it signs; it never changes for the node, so it is
            # the node's place in the topology (1-based), stable as long as orderers are only appended.
            "ID": number,
            "Host": LOOPBACK,
            "Port": o.cluster_port,
            "MSPID": o.org.msp_id,
            # Its enrolment certificate: SmartBFT verifies the consenters' signatures with it.
            "Identity": str(layout.consenter_identity(o)),
            "ClientTLSCert": str(layout.consenter_cert(o)),
            "ServerTLSCert": str(layout.consenter_cert(o)),
        }
        for number, o in enumerate(topology.orderers, start=1)
    ]
    options = {
        # A batch is cut as often as Raft's would be.
        "RequestBatchMaxInterval": topology.batch_timeout,
        "RequestBatchMaxCount": topology.max_message_count,
        # SmartBFT takes every option from the channel config, none from a default: all are given.
        "RequestBatchMaxBytes": 10 * 1024 * 1024,
        "IncomingMessageBufferSize": 200,
        "RequestPoolSize": 100_000,
        # Shorter than the sample's (20 s, 1 min): on one host a silent leader is a crashed one, and the
        # clients wait for its replacement. A view change then takes seconds, not a minute.
        "RequestForwardTimeout": "2s",
        "RequestComplainTimeout": "8s",
        "RequestAutoRemoveTimeout": "3m0s",
        "ViewChangeResendInterval": "2s",
        "ViewChangeTimeout": "8s",
        "LeaderHeartbeatTimeout": "10s",
        "LeaderHeartbeatCount": 10,
        "CollectTimeout": "1s",
    }
    return {"OrdererType": "BFT", "ConsenterMapping": mapping, "SmartBFT": options}


def write_configtx(layout: NetworkLayout, topology: Topology) -> Path:
    """The channel's configtx.yaml: every organisation, Raft or BFT over every orderer, V2_5 application
    capability; on Fabric 3 also the V3_0 channel capability, without which a v3.1 peer refuses to join a
    channel whose orderer endpoints are per organisation ("Must set some OrdererAddresses")."""
    orgs = [_org_section(layout, org) for org in topology.organizations]
    # Every organisation that runs an orderer is in the Orderer group, whose Admins policy (MAJORITY
    # Admins) then needs most of them for a change of ordering: no one organisation administers it alone.
    ordering_orgs = [
        section for section, org in zip(orgs, topology.organizations, strict=True) if org.orderers
    ]
    common_policies = {
        "Readers": _implicit("ANY Readers"),
        "Writers": _implicit("ANY Writers"),
        "Admins": _implicit("MAJORITY Admins"),
    }
    document = {
        "Organizations": orgs,
        "Profiles": {
            CHANNEL_PROFILE: {
                "Policies": common_policies,
                "Capabilities": {"V3_0": True} if topology.fabric_major >= 3 else {"V2_0": True},
                "Orderer": {
                    "BatchTimeout": topology.batch_timeout,
                    "BatchSize": {
                        "MaxMessageCount": topology.max_message_count,
                        "AbsoluteMaxBytes": "99 MB",
                        "PreferredMaxBytes": "2 MB",
                    },
                    **_consensus_section(layout, topology),
                    "Organizations": ordering_orgs,
                    "Policies": common_policies | {"BlockValidation": _implicit("ANY Writers")},
                    "Capabilities": {"V2_0": True},
                },
                "Application": {
                    "Organizations": orgs,
                    "Policies": common_policies
                    | {
                        "LifecycleEndorsement": _implicit("MAJORITY Endorsement"),
                        "Endorsement": _implicit("MAJORITY Endorsement"),
                    },
                    "Capabilities": {"V2_5": True},
                },
            }
        },
    }
    path = layout.channel_dir / "configtx.yaml"
    _write_yaml(path, document)
    return path


def write_genesis_block(binaries: FabricBinaries, configtx: Path, channel: str, block: Path) -> None:
    """The channel's first block, from `configtx` (a configtx.yaml with the SeochoChannel profile)."""
    command: list[str | os.PathLike[str]] = [
        binaries.tool("configtxgen"), "-configPath", configtx.parent, "-profile", CHANNEL_PROFILE,
        "-channelID", channel, "-outputBlock", block,
    ]  # fmt: skip
    run_tool(command, {"PATH": "/usr/bin:/bin"}, what="configtxgen")
