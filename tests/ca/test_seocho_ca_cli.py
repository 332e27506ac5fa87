"""`seocho ca` on a real fabric-ca-server: enroll, register, revoke, provision the demo cast, errors."""

from __future__ import annotations

import shutil
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import fabric_gateway as fg
import pytest
import yaml
from click.testing import CliRunner, Result
from fabric_ca import load_msp
from fabric_protos.msp import identities_pb2
from fabric_shim.cid import ClientIdentity
from seocho.cli import cli
from seocho.demo import cast_names
from seocho.profile import load_profile

if TYPE_CHECKING:
    from ca_server import RunningCA

pytestmark = pytest.mark.fabric

SECRET_VARIABLE = "SEOCHO_TEST_CA_SECRET"
INTERRUPTED = "member-R-0001"  # the cast identity whose provisioning was interrupted after registering


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def seocho(*args: str | Path, secret: str | None = None) -> Result:
    environment = {SECRET_VARIABLE: secret} if secret is not None else {}
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=environment, catch_exceptions=False)


def one_line_error(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def endpoint(fabric_ca: RunningCA, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The --url and --tls-root options naming the session's CA."""
    tls_root = tmp_path_factory.mktemp("ca-cli") / "tls-root.pem"
    tls_root.write_bytes(fabric_ca.tls_root_pem)
    return ["--url", fabric_ca.url, "--tls-root", str(tls_root)]


@pytest.fixture(scope="module")
def admin_msp(endpoint: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bootstrap admin's MSP directory, enrolled through the command line."""
    msp_dir = tmp_path_factory.mktemp("registrar") / "msp"
    result = seocho("ca", "enroll", "admin", *endpoint, "--msp-dir", msp_dir,
                    "--secret-env", SECRET_VARIABLE, secret="adminpw")  # fmt: skip
    assert result.exit_code == 0, result.output
    return msp_dir


def write_profile(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    profile = directory / "profile.yaml"
    document = {
        "channel": "seocho",
        "chaincode": "seocho",
        "gateway": {"address": "127.0.0.1:7051", "tls_root_cert": "tls/peer-ca.pem"},
        "notes": "kept by seocho ca",
    }
    profile.write_text(yaml.safe_dump(document), encoding="utf-8")
    return profile


def test_enroll_writes_the_bootstrap_admin_msp_with_a_private_key_and_adds_it_to_the_profile(
    endpoint: list[str], tmp_path: Path
) -> None:
    profile = write_profile(tmp_path)
    msp_dir = tmp_path / "users" / "admin" / "msp"

    result = seocho("ca", "enroll", "admin", *endpoint, "--msp-dir", msp_dir, "--msp-id", "SeochoDistrictMSP",
                    "--profile-add", profile, "--secret-env", SECRET_VARIABLE, secret="adminpw")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "adminpw" not in result.output
    assert load_msp(msp_dir).enrollment_id == "admin"
    assert mode_of(msp_dir / "keystore" / "key_sk") == 0o600
    loaded = load_profile(profile)
    assert loaded.identity("admin").msp_id == "SeochoDistrictMSP"
    assert loaded.identity("admin").msp_dir == msp_dir
    assert yaml.safe_load(profile.read_text())["notes"] == "kept by seocho ca"


def test_registered_member_enrolls_with_its_attributes_and_the_secret_stays_in_its_file(
    endpoint: list[str], admin_msp: Path, tmp_path: Path
) -> None:
    # A member is registered under a pseudonymous member id (seocho ca register refuses other names).
    name, secret_file, msp_dir = f"S-{uuid.uuid4().int % 10**12:012d}", tmp_path / "secret", tmp_path / "msp"

    registered = seocho("ca", "register", name, *endpoint, "--registrar-msp-dir", admin_msp,
                        "--attr", "seocho.role=member", "--secret-out", secret_file)  # fmt: skip
    assert registered.exit_code == 0, registered.output
    secret = secret_file.read_text().strip()
    assert secret and secret not in registered.output
    assert mode_of(secret_file) == 0o600

    enrolled = seocho("ca", "enroll", name, *endpoint, "--msp-dir", msp_dir, "--secret-file", secret_file)

    assert enrolled.exit_code == 0, enrolled.output
    member = load_msp(msp_dir)
    serialized = identities_pb2.SerializedIdentity(mspid="SeochoDistrictMSP", id_bytes=member.certificate_pem)
    identity = ClientIdentity(serialized.SerializeToString())
    assert identity.get_attribute("seocho.role") == "member"
    assert identity.get_attribute("seocho.institution") is None
    assert mode_of(msp_dir / "keystore" / "key_sk") == 0o600


def test_register_prints_only_the_secret_which_then_enrolls(
    endpoint: list[str], admin_msp: Path, tmp_path: Path
) -> None:
    name = _unique("printed")
    registered = seocho("ca", "register", name, *endpoint, "--registrar-msp-dir", admin_msp)
    assert registered.exit_code == 0, registered.output
    secret = registered.stdout.strip()

    enrolled = seocho("ca", "enroll", name, *endpoint, "--msp-dir", tmp_path / "msp",
                      "--secret-env", SECRET_VARIABLE, secret=secret)  # fmt: skip

    assert enrolled.exit_code == 0, enrolled.output


def test_without_a_secret_option_the_secret_is_asked_for_without_echo(
    endpoint: list[str], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["ca", "enroll", "admin", *endpoint, "--msp-dir", str(tmp_path / "msp")], input="adminpw\n"
    )

    assert result.exit_code == 0, result.output
    assert "adminpw" not in result.output
    assert load_msp(tmp_path / "msp").enrollment_id == "admin"


def test_a_secret_file_others_can_read_is_refused(endpoint: list[str], tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("adminpw\n")
    secret_file.chmod(0o644)

    result = seocho(
        "ca", "enroll", "admin", *endpoint, "--msp-dir", tmp_path / "msp", "--secret-file", secret_file
    )

    assert result.exit_code == 1
    assert "chmod 600" in one_line_error(result)
    assert not (tmp_path / "msp").exists()


def test_a_revoked_identity_cannot_enroll_again(endpoint: list[str], admin_msp: Path, tmp_path: Path) -> None:
    name, secret_file = _unique("revoked"), tmp_path / "secret"
    seocho("ca", "register", name, *endpoint, "--registrar-msp-dir", admin_msp, "--secret-out", secret_file)
    first = seocho(
        "ca", "enroll", name, *endpoint, "--msp-dir", tmp_path / "first", "--secret-file", secret_file
    )
    assert first.exit_code == 0, first.output

    revoked = seocho(
        "ca", "revoke", name, *endpoint, "--registrar-msp-dir", admin_msp, "--reason", "keycompromise"
    )
    assert revoked.exit_code == 0, revoked.output
    again = seocho(
        "ca", "enroll", name, *endpoint, "--msp-dir", tmp_path / "again", "--secret-file", secret_file
    )

    assert again.exit_code == 4  # the CA answers 401: the identity may no longer authenticate
    assert "the CA refused (HTTP 401)" in one_line_error(again)


@pytest.fixture(scope="module")
def provisioned(
    endpoint: list[str], admin_msp: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Result]:
    """The demo's cast provisioned once for the module: (profile, out directory, the command's result).

    One identity was registered by an earlier run that was interrupted before it enrolled: only the secret
    that run keeps beside the identity's MSP directory is there.
    """
    home = tmp_path_factory.mktemp("network")
    profile, out = write_profile(home), home / "identities"
    kept_secret = out / "users" / INTERRUPTED / "enrollment-secret"
    registered = seocho("ca", "register", INTERRUPTED, *endpoint, "--registrar-msp-dir", admin_msp,
                        "--attr", "seocho.role=member", "--secret-out", kept_secret)  # fmt: skip
    assert registered.exit_code == 0, registered.output
    result = seocho("ca", "provision-demo", *endpoint, "--registrar-msp-dir", admin_msp,
                    "--profile", profile, "--out", out)  # fmt: skip
    return profile, out, result


def test_provision_demo_enrolls_every_cast_identity_with_its_attributes_into_the_profile(
    provisioned: tuple[Path, Path, Result],
) -> None:
    profile, out, result = provisioned
    assert result.exit_code == 0, result.output
    assert (
        f"{INTERRUPTED}: was registered by an earlier run; enrolled with the secret it kept" in result.stdout
    )
    loaded = load_profile(profile)
    for name, msp_id, attributes in cast_names():
        ref = loaded.identity(name)
        assert ref.msp_id == msp_id
        assert ref.msp_dir == out / "users" / name / "msp"
        assert load_msp(ref.msp_dir).enrollment_id == name
        # What `seocho --profile PROFILE demo` checks before it starts (seocho.cast.NetworkCast).
        identity, _ = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
        carried = ClientIdentity(identity.serialize())
        assert {key: carried.get_attribute(key) for key in attributes} == attributes
        assert mode_of(ref.msp_dir / "keystore" / "key_sk") == 0o600
        assert not (ref.msp_dir.parent / "enrollment-secret").exists()  # no secret outlives its enrollment
    assert yaml.safe_load(profile.read_text())["notes"] == "kept by seocho ca"


def copy_of(provisioned: tuple[Path, Path, Result], tmp_path: Path) -> tuple[Path, Path]:
    profile, out, _ = provisioned
    shutil.copytree(profile.parent, tmp_path / "network")
    return tmp_path / "network" / profile.name, tmp_path / "network" / out.name


def test_rerunning_provision_demo_keeps_every_identity(
    endpoint: list[str], admin_msp: Path, provisioned: tuple[Path, Path, Result], tmp_path: Path
) -> None:
    profile, out = copy_of(provisioned, tmp_path)
    before = {name: load_msp(out / "users" / name / "msp").serial_hex for name, _, _ in cast_names()}

    result = seocho("ca", "provision-demo", *endpoint, "--registrar-msp-dir", admin_msp,
                    "--profile", profile, "--out", out)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.count("already provisioned") == len(before)
    after = {name: load_msp(out / "users" / name / "msp").serial_hex for name in before}
    assert after == before
    assert set(load_profile(profile).identities) == set(before)


def test_an_identity_registered_without_a_kept_secret_is_reported_and_the_rest_listed(
    endpoint: list[str], admin_msp: Path, provisioned: tuple[Path, Path, Result], tmp_path: Path
) -> None:
    profile, out = copy_of(provisioned, tmp_path)
    shutil.rmtree(out / "users" / "member-R-0002")

    result = seocho("ca", "provision-demo", *endpoint, "--registrar-msp-dir", admin_msp,
                    "--profile", profile, "--out", out)  # fmt: skip

    assert result.exit_code == 1
    assert "member-R-0002: failed: registered on the CA" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 of ")
    assert result.stdout.count("already provisioned") == len(cast_names()) - 1


@pytest.mark.parametrize(
    ("url", "exit_code", "says"),
    [
        ("not-a-url", 2, "--url must be http(s)://host:port"),
        ("https://127.0.0.1:99999", 2, "bad port"),
        ("https://127.0.0.1:1", 8, "cannot reach Fabric CA"),
    ],
)
def test_a_bad_or_unreachable_url_is_one_line(
    url: str, exit_code: int, says: str, endpoint: list[str], tmp_path: Path
) -> None:
    result = seocho("ca", "enroll", "admin", "--url", url, *endpoint[2:], "--msp-dir", tmp_path / "msp",
                    "--secret-env", SECRET_VARIABLE, secret="adminpw")  # fmt: skip

    assert result.exit_code == exit_code
    assert says in one_line_error(result)


def test_an_untrusted_tls_root_and_a_missing_one_are_one_line(
    fabric_ca: RunningCA, unrelated_root_pem: bytes, tmp_path: Path
) -> None:
    untrusted = tmp_path / "unrelated.pem"
    untrusted.write_bytes(unrelated_root_pem)
    common = ("--msp-dir", tmp_path / "msp", "--secret-env", SECRET_VARIABLE)

    wrong = seocho(
        "ca", "enroll", "admin", "--url", fabric_ca.url, "--tls-root", untrusted, *common, secret="x"
    )
    missing = seocho("ca", "enroll", "admin", "--url", fabric_ca.url, "--tls-root", tmp_path / "none.pem",
                     *common, secret="x")  # fmt: skip

    assert wrong.exit_code == 8
    assert "TLS with the CA" in one_line_error(wrong)
    assert missing.exit_code == 1
    assert "cannot read the CA's TLS root" in one_line_error(missing)
    assert not (tmp_path / "msp").exists()
