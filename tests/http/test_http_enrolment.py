"""Enrolment: the resident's own key, a certificate request, the registrar's one-time secret."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import seocho_http.cli  # noqa: F401  (registers `seocho serve`)
from certificate_requests import request_for
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_gateway.signing import sign_low_s
from flows import balance
from http_service import Served
from seocho.backend import EmbeddedBackend
from seocho.cast import client_id_of
from seocho.cli import cli
from seocho.coin import Coin
from seocho.profile import CAEndpoint, ProfileError, load_profile
from seocho_http.enrolment_relay import FabricCARelay, enrolment_cas
from seocho_http.problems import Problem
from seocho_http.signatures import creator_of
from world import DISTRICT

from benchmarks.http.flows import Phone


def test_a_resident_enrols_once_with_the_secret_then_signs_as_a_registered_member(served: Served) -> None:
    client = served.client
    secret = served.client.app.state.service.store.enrolment_secrets.issue("S-0042")  # type: ignore[attr-defined]
    key = ec.generate_private_key(ec.SECP256R1())
    body = {
        "msp_id": DISTRICT,
        "enrollment_id": "S-0042",
        "secret": secret,
        "csr": request_for("S-0042", key),
    }
    wrong = client.post("/v1/enrolments", json={**body, "secret": "guess"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_secret"
    enrolled = client.post("/v1/enrolments", json=body)
    assert enrolled.status_code == 201, enrolled.text
    certificate = x509.load_pem_x509_certificate(enrolled.json()["certificate"].encode())
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert client.post("/v1/enrolments", json=body).status_code == 401  # one time only
    phone = Phone("S-0042", DISTRICT, enrolled.json()["certificate"], functools.partial(sign_low_s, key))
    client_id = client_id_of(creator_of(DISTRICT, phone.certificate_pem))
    registrar = served.world.ledger.identities.get("registrar")
    Coin(EmbeddedBackend(served.world.ledger, registrar)).register_member("S-0042", ["senior"], client_id)
    assert balance(client, phone) == 0


def test_a_request_signed_by_another_key_or_for_another_name_is_refused_and_keeps_the_secret(
    served: Served,
) -> None:
    client = served.client
    secret = served.client.app.state.service.store.enrolment_secrets.issue("S-0043")  # type: ignore[attr-defined]
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"msp_id": DISTRICT, "enrollment_id": "S-0043", "secret": secret}
    other_name = client.post("/v1/enrolments", json={**body, "csr": request_for("S-9999", key)})
    assert other_name.status_code == 400
    good = client.post("/v1/enrolments", json={**body, "csr": request_for("S-0043", key)})
    assert good.status_code == 201


def _profile(home: Path, extra: str = "") -> Path:
    (home / "tls").mkdir(parents=True, exist_ok=True)
    path = home / "profile.yaml"
    path.write_text(
        "gateway: {address: 127.0.0.1:7051, tls_root_cert: tls/peer.pem}\n" + extra, encoding="utf-8"
    )
    return path


def test_the_relay_enrols_at_the_ca_the_profile_names(tmp_path: Path) -> None:
    profile = load_profile(
        _profile(tmp_path, "ca: {msp_id: SeochoDistrictMSP, url: 'https://127.0.0.1:7054', "
                           "tls_root_cert: ca/root.pem, ca_name: ca-district}\n")
    )  # fmt: skip
    assert profile.ca == CAEndpoint(
        DISTRICT, "https://127.0.0.1:7054", tmp_path / "ca" / "root.pem", "ca-district"
    )
    assert enrolment_cas(profile) == {DISTRICT: profile.ca}
    with pytest.raises(ProfileError, match=r"ca\.url"):
        load_profile(_profile(tmp_path, "ca: {msp_id: SeochoDistrictMSP, tls_root_cert: r.pem}\n"))
    with pytest.raises(ProfileError, match="ca needs"):
        load_profile(_profile(tmp_path, "ca: https://127.0.0.1:7054\n"))


def test_without_a_ca_in_the_profile_the_network_homes_ca_access_files_say_where(tmp_path: Path) -> None:
    org = tmp_path / "orgs" / "district.seocho.local"
    org.mkdir(parents=True)
    (org / "ca-access.yaml").write_text(
        "msp_id: SeochoDistrictMSP\nurl: https://127.0.0.1:7054\ntls_root: /n/ca-cert.pem\n"
        "registrar_msp_dir: /n/users/ca-registrar/msp\n",
        encoding="utf-8",
    )
    cas = enrolment_cas(load_profile(_profile(tmp_path)))
    assert cas == {DISTRICT: CAEndpoint(DISTRICT, "https://127.0.0.1:7054", Path("/n/ca-cert.pem"))}


def test_a_service_with_no_ca_answers_503() -> None:
    relay = FabricCARelay({})
    with pytest.raises(Problem) as refused:
        relay.enrol(DISTRICT, "S-0001", "secret", "csr")
    assert refused.value.status == 503 and refused.value.code == "ca_unavailable"


def test_on_a_network_the_registrar_gets_the_secret_from_the_ca_not_the_service(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    env = {"SEOCHO_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    command = ["--profile", str(profile), "serve", "enrolment-secret", "S-0042"]
    refused = runner.invoke(cli, ["--lang", "en", *command], env=env)
    assert refused.exit_code == 1
    assert "seocho ca register S-0042 --attr seocho.role=member" in refused.stderr
    korean = runner.invoke(cli, ["--lang", "ko", *command], env=env)
    assert "구청 인증기관이 일회용 비밀번호를 발급합니다" in korean.stderr
    assert not (tmp_path / "home" / "http" / "http.sqlite").exists()


def test_serve_refuses_a_ca_it_would_send_secrets_to_in_the_clear(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "ca: {msp_id: SeochoDistrictMSP, url: 'http://127.0.0.1:7054', "
                                 "tls_root_cert: root.pem}\n")  # fmt: skip
    env = {"SEOCHO_HOME": str(tmp_path / "home")}
    command = ["--profile", str(profile), "--as", "svc", "serve"]
    result = CliRunner().invoke(cli, ["--lang", "en", *command], env=env)
    assert result.exit_code == 2, result.output  # a usage error, as the other refusals of `serve`
    assert "the CA of SeochoDistrictMSP must be https (it receives secrets)" in result.stderr
    korean = CliRunner().invoke(cli, ["--lang", "ko", *command], env=env)
    assert korean.exit_code == 2
    assert "SeochoDistrictMSP의 인증기관은 https여야 합니다" in korean.stderr, korean.output
    assert not (tmp_path / "home" / "http" / "http.sqlite").exists()
