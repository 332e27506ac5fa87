"""The benchmark's network: the project's own, on a locked free port offset, four chaincodes beside the coin.

`go_kv` / `go_null` are the reference chaincode (`referencecc kvexecutor|null`, the official Go shim) and
`py_kv` / `py_null` the same functions in Python on our shim (`pychaincode.py`); all are served as
chaincode-as-a-service over mutual TLS like the coin, with the coin's endorsement policy (AND of both
organisations), so every case pays the same peer, orderer and validation costs.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fabric_ca import Attribute, CAClient, RegistrationRequest, load_msp
from seocho.network_setup import initialise_ledger, provision_demo
from seocho_network import Network
from seocho_network.binaries import FABRIC_VERSION, cache_root
from seocho_network.crypto import OrganizationCrypto
from seocho_network.lifecycle import ChaincodeService
from seocho_network.port_offsets import NoFreePortOffset, claimed_port_offset
from seocho_network.topology import ChaincodeSpec, Organization

# The test sessions' offsets and lock files (tests/fabric_network_support.py): a benchmark and a test
# session never take the same ports. The benchmark tries them from the top, the tests from the bottom.
PORT_OFFSETS = range(54_000, 29_999, -3_000)


def reference_cc(fabric_version: str = FABRIC_VERSION) -> Path:
    """The Go reference chaincode built on that release's shim (v3.1.5's also serves `kvbatch`)."""
    return cache_root() / f"fabric-{fabric_version}" / "reference-chaincode" / "referencecc"


HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Client:
    """Where and as whom a load driver connects: the district's peer's Gateway."""

    msp_id: str
    msp_dir: Path
    address: str
    tls_root: Path
    server_name: str
    channel: str

    def files(self) -> tuple[Path, Path]:
        """The certificate and private key files of the MSP directory."""
        (cert,) = sorted((self.msp_dir / "signcerts").iterdir())
        (key,) = sorted((self.msp_dir / "keystore").iterdir())
        return cert, key


@contextlib.contextmanager
def locked_port_offset() -> Iterator[int]:
    """A port offset no test session or other benchmark uses (the same lock files as the tests)."""
    try:
        with claimed_port_offset(PORT_OFFSETS) as offset:
            yield offset
    except NoFreePortOffset as exc:
        raise SystemExit(str(exc)) from None


def coin_network_up(network: Network) -> None:
    """Up, the demo's cast provisioned, the coin deployed and its ledger initialised: the client's steps
    as `network.sh up` and `deploy` run them (the demo, and profile_identity(), need the cast)."""
    network.up()
    provision_demo(network.layout.root, say=lambda line: None)
    network.deploy()
    initialise_ledger(network.layout.root, say=lambda line: None)


def reference_services(network: Network) -> dict[str, ChaincodeService]:
    """The benchmark chaincodes, each on its own chaincode-server ports (index 1-4; on Fabric 3 also
    the batched twins `go_kvbatch` and `py_kvbatch`, 5-6)."""
    referencecc = reference_cc(network.topology.fabric_version)
    if not referencecc.exists():
        raise SystemExit(f"{referencecc} is missing: run scripts/build-fabric.sh")
    policy = network.topology.chaincode.endorsement_policy
    go_digest = hashlib.sha256(referencecc.read_bytes()).hexdigest()[:12]
    py_source = (HERE / "pychaincode.py").read_bytes() + _shim_digest().encode()
    pd = hashlib.sha256(py_source).hexdigest()[:12]
    py = (sys.executable, "-m", "benchmarks.network.pychaincode")
    env = {"PYTHONPATH": str(HERE.parent.parent)}
    go = str(referencecc)
    services = {
        "go_kv": ChaincodeService(ChaincodeSpec("gokv", "1.0", policy), (go, "kvexecutor"), go_digest, 1),
        "go_null": ChaincodeService(ChaincodeSpec("gonull", "1.0", policy), (go, "null"), go_digest, 2),
        "py_kv": ChaincodeService(ChaincodeSpec("pykv", "1.0", policy), (*py, "kvexecutor"), pd, 3, env),
        "py_null": ChaincodeService(ChaincodeSpec("pynull", "1.0", policy), (*py, "null"), pd, 4, env),
    }
    if network.topology.fabric_major >= 3:
        go_batch, py_batch = (
            ChaincodeSpec("gokvbatch", "1.0", policy),
            ChaincodeSpec("pykvbatch", "1.0", policy),
        )
        services["go_kvbatch"] = ChaincodeService(go_batch, (go, "kvbatch"), go_digest, 5)
        services["py_kvbatch"] = ChaincodeService(py_batch, (*py, "kvbatch"), pd, 6, env)
    return services


def _shim_digest() -> str:
    from seocho_network.lifecycle import source_digest

    return source_digest(("fabric_shim",))


def district(network: Network) -> Organization:
    return network.topology.organizations[0]


def plain_client(network: Network, name: str) -> Client:
    """A client identity without coin attributes (the reference chaincodes check none)."""
    org, layout = district(network), network.layout
    files = layout.org_user(org, name)
    OrganizationCrypto(layout, org).issue(name, "client", files, tls=False)
    return client_for(network, files.msp)


def client_for(network: Network, msp_dir: Path) -> Client:
    org = district(network)
    peer = org.peers[0]
    tls_root = network.layout.org_tls_ca_cert(org)
    return Client(org.msp_id, msp_dir, peer.address, tls_root, peer.node_id, network.topology.channel)


def coin_identities(network: Network, names: dict[str, dict[str, str]]) -> dict[str, Client]:
    """Identities of the district with `seocho.*` attributes in their certificates, from its CA."""
    org, layout = district(network), network.layout
    registrar = load_msp(layout.ca_registrar(org).msp)
    made: dict[str, Client] = {}
    with CAClient(org.ca.url, layout.org_ca_cert(org)) as ca:

        def one(item: tuple[str, dict[str, str]]) -> tuple[str, Client]:
            name, attributes = item
            msp_dir = layout.org_user(org, name).msp
            if not (msp_dir / "signcerts").is_dir():
                request = RegistrationRequest(
                    name, "client", attributes=[Attribute(k, v, ecert=True) for k, v in attributes.items()]
                )
                secret = ca.register(registrar, request)
                ca.enroll(name, secret).write_msp(msp_dir)
            return name, client_for(network, msp_dir)

        with ThreadPoolExecutor(8) as pool:
            made.update(pool.map(one, names.items()))
    return made


def profile_identity(network: Network, name: str) -> Client:
    """One of the demo cast's identities that `up` wrote into the profile (e.g. district-admin)."""
    import yaml

    document = yaml.safe_load(network.layout.profile.read_text(encoding="utf-8"))
    ref = document["identities"][name]
    msp_dir = Path(ref["msp_dir"])
    if not msp_dir.is_absolute():
        msp_dir = network.layout.profile.parent / msp_dir
    return client_for(network, msp_dir)
