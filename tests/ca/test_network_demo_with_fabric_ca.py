"""The network path end to end: identities from a real Fabric CA, provisioned by `seocho ca provision-demo`,
used by `seocho --profile … demo` through a Gateway (the double, trusting that CA as both MSPs' root).

What a district would run on a new network, minus the Fabric peer this machine cannot build.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ca_server import RunningCA, start_fabric_ca
from click.testing import CliRunner
from fabric_ca import load_msp
from seocho.backend import CHAINCODE_NAME, open_embedded_ledger
from seocho.cli import cli

sys.path.insert(0, str(Path(__file__).parents[1] / "gateway"))  # the gateway double's helper modules
from gateway_double import serve
from tls_pki import make_tls_material

pytestmark = pytest.mark.fabric


def seocho(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def own_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCA]:
    # Its own CA: the session's CA already has the demo's cast registered by other tests.
    yield from start_fabric_ca(tmp_path_factory.mktemp("demo-fabric-ca"))


def test_a_cast_provisioned_from_fabric_ca_tells_the_demo_through_the_gateway(
    own_ca: RunningCA, tmp_path: Path
) -> None:
    (tmp_path / "ca-tls.pem").write_bytes(own_ca.tls_root_pem)
    endpoint = ["--url", own_ca.url, "--tls-root", tmp_path / "ca-tls.pem"]
    code, _, err = seocho("ca", "enroll", "admin", *endpoint, "--msp-dir", tmp_path / "registrar" / "msp",
                          "--secret-env", "CA_SECRET", env={"CA_SECRET": "adminpw"})  # fmt: skip
    assert code == 0, err
    ca_root = load_msp(tmp_path / "registrar" / "msp").ca_chain_pem

    tls = make_tls_material()
    with open_embedded_ledger(None) as ledger:
        for msp_id in ("SeochoDistrictMSP", "PartnersMSP"):
            ledger.trust_msp_root(msp_id, ca_root)  # as a channel's MSP definitions would
        running = serve(ledger, tls)
        try:
            (tmp_path / "peer-tls.pem").write_bytes(tls.ca_pem)
            profile = tmp_path / "profile.yaml"
            profile.write_text(yaml.safe_dump({
                "channel": ledger.channel_id,
                "chaincode": CHAINCODE_NAME,
                "gateway": {"address": running.target, "tls_root_cert": "peer-tls.pem"},
            }))  # fmt: skip
            code, _, err = seocho("ca", "provision-demo", *endpoint, "--registrar-msp-dir",
                                  tmp_path / "registrar" / "msp", "--profile", profile,
                                  "--out", tmp_path / "identities")  # fmt: skip
            assert code == 0, err

            code, out, err = seocho("--profile", profile, "demo", "--json")
            assert code == 0, err
        finally:
            running.stop()
        on_network = json.loads(out)
        embedded = json.loads(seocho("demo", "--json")[1])
        for key in ("members", "participants", "coins", "krw", "by_activity"):
            assert on_network[key] == embedded[key]
        assert ledger.height > 30
        # The ledger enrolled nobody but the peer's own endorsing identity: every accepted proposal came
        # from a certificate the Fabric CA issued.
        assert ledger.identities.names() == ["peer0"]
