"""`RemoteChaincode.from_connection_info`: a ccaas package's connection.json, read as Fabric reads it."""

from __future__ import annotations

import math
from typing import Any

import pytest
from chaincode_process import PACKAGE_ID, ChaincodeProcess
from embedded_ledger.remote import DEFAULT_DIAL_TIMEOUT, RemoteChaincode, go_duration_seconds
from hypothesis import given
from hypothesis import strategies as st
from remote_pki import ChaincodePKI

UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def connection_json(server: ChaincodeProcess, pki: ChaincodePKI, **changes: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "address": server.address,
        "dial_timeout": "4s",
        "tls_required": True,
        "client_auth_required": True,
        "root_cert": pki.ca_cert_file.read_text(),
        "client_key": pki.client.key_file.read_text(),
        "client_cert": pki.client.cert_file.read_text(),
        "domain": "localhost",  # the server certificate names both localhost and 127.0.0.1
    }
    info.update(changes)
    return info


def test_the_connection_json_of_a_package_reaches_the_server(
    chaincode_server: ChaincodeProcess, pki: ChaincodePKI
) -> None:
    with RemoteChaincode.from_connection_info(connection_json(chaincode_server, pki), PACKAGE_ID) as remote:
        assert remote.dial_timeout == 4.0 and remote.tls is not None
        remote.connect()
        assert remote.connected


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"address": ""}, "no chaincode address"),
        ({"root_cert": ""}, "no root_cert"),
        ({"client_key": ""}, "lacks client_key"),
        ({"dial_timeout": "soon"}, "invalid duration"),
    ],
)
def test_an_incomplete_connection_json_is_refused(
    chaincode_server: ChaincodeProcess, pki: ChaincodePKI, changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        RemoteChaincode.from_connection_info(connection_json(chaincode_server, pki, **changes), PACKAGE_ID)


def test_plaintext_and_default_dial_timeout(chaincode_server: ChaincodeProcess, pki: ChaincodePKI) -> None:
    info = connection_json(chaincode_server, pki, tls_required=False, dial_timeout=None)
    remote = RemoteChaincode.from_connection_info(info, PACKAGE_ID)
    assert remote.tls is None and remote.dial_timeout == DEFAULT_DIAL_TIMEOUT


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(UNITS))), min_size=1, max_size=4))
def test_go_durations_add_up_their_parts(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{number}{unit}" for number, unit in parts)
    expected = sum(number * UNITS[unit] for number, unit in parts)
    assert math.isclose(go_duration_seconds(text), expected, rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(0, 10**12))
def test_a_number_is_nanoseconds_as_in_go(nanoseconds: int) -> None:
    assert math.isclose(go_duration_seconds(nanoseconds), nanoseconds / 1e9)
