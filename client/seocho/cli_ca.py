"""`seocho ca`: network identities from a Fabric CA — enroll, register, revoke, and provision the demo's cast.

Secrets never travel as plain arguments (they would show in `ps` and shell history): they are read from an
environment variable, a file only its owner can read, or a hidden prompt, and written only to 0600 files.
Every failure is one `SeochoError` line: the CA refusing (exit 3/4/5/6 like a chaincode refusal), the CA
unreachable or its TLS untrusted (8), a usage problem such as a malformed URL (2), anything else (1).
"""

from __future__ import annotations

import functools
import os
import secrets
import ssl
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from cryptography import x509
from fabric_ca import (
    Attribute,
    CAClient,
    CAConnectionError,
    CAError,
    Enrollment,
    RegistrationRequest,
    load_msp,
)

from seocho.cli import cli
from seocho.cli_types import positive
from seocho.demo import cast_names
from seocho.errors import ConnectionFailedError, SeochoError
from seocho.profile import add_identities_to_profile, load_profile

# Fabric CA answers 401 for a wrong secret or a revoked identity, 403 when the registrar lacks a right.
_EXIT_CODE_BY_HTTP_STATUS = {400: 3, 401: 4, 403: 4, 404: 5, 409: 6}
_REVOCATION_REASONS = (
    "unspecified", "keycompromise", "cacompromise", "affiliationchange", "superseded",
    "cessationofoperation", "certificatehold", "removefromcrl", "privilegewithdrawn", "aacompromise",
)  # fmt: skip
# Kept beside an identity's MSP directory between registering and enrolling, so a rerun can finish the job.
_PENDING_SECRET_FILE = "enrollment-secret"


class CARefusedError(SeochoError):
    """The Fabric CA refused a request; the exit code follows its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = _EXIT_CODE_BY_HTTP_STATUS.get(status, 1)


class CAUsageError(SeochoError):
    """A bad option value, reported on one line with click's usage exit code."""

    exit_code = 2


@dataclass(frozen=True)
class CAEndpoint:
    """Where the CA is and how to trust it, from the options every `seocho ca` command shares."""

    url: str
    tls_root: Path | None
    ca_name: str | None
    timeout: float

    @contextmanager
    def client(self) -> Iterator[CAClient]:
        tls_root_pem = _read_tls_root(self.tls_root) if self.tls_root is not None else None
        if urlsplit(self.url).scheme == "https" and tls_root_pem is None:
            raise CAUsageError("an https CA needs --tls-root (the PEM root of the CA's TLS certificate)")
        with _translated_errors(self.url), CAClient(self.url, tls_root_pem, self.ca_name, self.timeout) as ca:
            yield ca


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def _translated_errors(url: str) -> Iterator[None]:
    """Turns the CA client's exceptions into one-line `SeochoError`s."""
    try:
        yield
    except CAError as exc:
        raise _refusal(exc) from None
    except CAConnectionError as exc:
        raise ConnectionFailedError(_one_line(str(exc))) from None
    except ssl.SSLError as exc:
        reason = exc.reason or type(exc).__name__
        hint = "is --tls-root the root of the CA's TLS certificate?"
        message = _one_line(f"TLS with the CA at {url} failed ({reason}); {hint}")
        raise ConnectionFailedError(message) from None


def _refusal(exc: CAError) -> CARefusedError:
    said = "; ".join(exc.messages) or "no details"
    return CARefusedError(_one_line(f"the CA refused (HTTP {exc.status}): {said}"), exc.status)


def _check_url(_ctx: click.Context, _param: click.Parameter, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CAUsageError(f"--url must be http(s)://host:port, got {url!r}")
    try:
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError:
        raise CAUsageError(f"--url has a bad port: {url!r}") from None
    return url


def _read_tls_root(path: Path) -> bytes:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SeochoError(f"cannot read the CA's TLS root {path}: {exc.strerror}") from None
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SeochoError(f"{path} holds no PEM certificate") from None
    return pem


def _directory(flag: str, help: str, *names: str, **kwargs: Any) -> Callable[[Any], Any]:
    return click.option(flag, *names, type=click.Path(file_okay=False, path_type=Path), help=help, **kwargs)


def _file(flag: str, help: str, *names: str, **kwargs: Any) -> Callable[[Any], Any]:
    return click.option(flag, *names, type=click.Path(dir_okay=False, path_type=Path), help=help, **kwargs)


def ca_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --url, --tls-root, --ca-name and --timeout to `command`; it receives them as `ca: CAEndpoint`."""

    @functools.wraps(command)
    def with_endpoint(
        *args: Any, url: str, tls_root: Path | None, ca_name: str | None, timeout: float, **kwargs: Any
    ) -> Any:
        return command(*args, ca=CAEndpoint(url, tls_root, ca_name, timeout), **kwargs)

    options = [
        click.option("--url", required=True, envvar="SEOCHO_CA_URL", callback=_check_url,
                     help="The CA's URL, https://host:port (or SEOCHO_CA_URL)."),
        _file("--tls-root", "PEM root of the CA's TLS certificate (or SEOCHO_CA_TLS_ROOT).",
              envvar="SEOCHO_CA_TLS_ROOT"),
        click.option("--ca-name", default=None, help="CA of a multi-CA server [default: the server's]."),
        click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per request."),
    ]  # fmt: skip
    for option in reversed(options):
        with_endpoint = option(with_endpoint)
    return with_endpoint


def _read_secret(secret_env: str | None, secret_file: Path | None) -> str:
    """The enrollment secret from an environment variable, an owner-only file, or a hidden prompt."""
    if secret_env and secret_file:
        raise CAUsageError("give the secret once: --secret-env or --secret-file, not both")
    if secret_env:
        secret = os.environ.get(secret_env, "")
        if not secret:
            raise SeochoError(f"environment variable {secret_env} holds no secret")
        return secret
    if secret_file is not None:
        try:
            mode = secret_file.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise SeochoError(f"{secret_file} is open to others (mode {mode & 0o777:o}); chmod 600 it")
            secret = secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SeochoError(f"cannot read secret file {secret_file}: {exc.strerror}") from None
        if not secret:
            raise SeochoError(f"secret file {secret_file} is empty")
        return secret
    return str(click.prompt("Enrollment secret", hide_input=True, err=True))


def _write_private(path: Path, text: str) -> None:
    """Writes `text` to `path`, readable by its owner only from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(descriptor, 0o600)  # the file may have existed with a wider mode
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text + "\n")


def _load_registrar(msp_dir: Path) -> Enrollment:
    try:
        return load_msp(msp_dir)
    except (OSError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SeochoError(_one_line(f"cannot load the registrar from {msp_dir}: {detail}")) from None


def _attributes(items: tuple[str, ...]) -> list[Attribute]:
    attributes = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CAUsageError(f"--attr {item!r} is not NAME=VALUE")
        attributes.append(Attribute(name, value, ecert=True))
    return attributes


# ---- commands -------------------------------------------------------------------------------------------


@cli.group()
def ca() -> None:
    """Network identities from a Fabric CA: enroll, register, revoke, provision the demo's cast."""


@ca.command("enroll")
@click.argument("name")
@ca_options
@_directory("--msp-dir", "MSP directory to write (new or empty); its key is written 0600.", required=True)
@click.option("--msp-id", help="The identity's MSP id, e.g. SeochoDistrictMSP (needed with --profile-add).")
@click.option("--secret-env", metavar="VAR", help="Read the secret from this environment variable.")
@_file("--secret-file", "Read the enrollment secret from this file (mode 0600).")
@_file("--profile-add", "Also add (or update) NAME in this existing network profile.", metavar="PROFILE")
def ca_enroll(
    ca: CAEndpoint,
    name: str,
    msp_dir: Path,
    msp_id: str | None,
    secret_env: str | None,
    secret_file: Path | None,
    profile_add: Path | None,
) -> None:
    """Enroll NAME with its secret and write its MSP directory.

    Without --secret-env or --secret-file the secret is asked for without echo.
    """
    if profile_add is not None and not msp_id:
        raise CAUsageError("--profile-add needs --msp-id (the profile records each identity's MSP id)")
    if profile_add is not None:
        load_profile(profile_add)  # fail before the CA issues a certificate nobody will find
    if msp_dir.exists() and (not msp_dir.is_dir() or any(msp_dir.iterdir())):
        raise SeochoError(f"{msp_dir} is not empty; enroll into a new directory")
    secret = _read_secret(secret_env, secret_file)
    with ca.client() as client:
        enrollment = client.enroll(name, secret)
    enrollment.write_msp(msp_dir)
    if profile_add is not None and msp_id:
        add_identities_to_profile(profile_add, {name: (msp_id, msp_dir)})
    click.echo(f"{name}: enrolled (serial {enrollment.serial_hex}) -> {msp_dir}")


@ca.command("register")
@click.argument("name")
@ca_options
@_directory("--registrar-msp-dir", "MSP dir of an identity allowed to register.", required=True)
@click.option("--type", "identity_type", default="client", help="client (default), peer, orderer, admin.")
@click.option("--affiliation", default="", help="Dotted affiliation [default: the registrar's].")
@click.option(
    "--attr", "attrs", multiple=True, metavar="NAME=VALUE", help="Certificate attribute (repeatable)."
)
@click.option("--max-enrollments", type=positive, help="How often the secret may enroll [default: the CA's].")
@_file("--secret-out", "Write the enrollment secret to this file (0600) instead of printing it.")
def ca_register(
    ca: CAEndpoint,
    name: str,
    registrar_msp_dir: Path,
    identity_type: str,
    affiliation: str,
    attrs: tuple[str, ...],
    max_enrollments: int | None,
    secret_out: Path | None,
) -> None:
    """Register NAME; print its enrollment secret, or write it to --secret-out."""
    attributes = _attributes(attrs)
    registrar = _load_registrar(registrar_msp_dir)
    request = RegistrationRequest(name, identity_type, affiliation, attributes, max_enrollments)
    with ca.client() as client:
        secret = client.register(registrar, request)
    if secret_out is None:
        click.echo(secret)
        return
    _write_private(secret_out, secret)
    click.echo(f"{name}: registered; its enrollment secret is in {secret_out}")


@ca.command("revoke")
@click.argument("name")
@ca_options
@_directory("--registrar-msp-dir", "MSP dir of an identity with the hf.Revoker right.", required=True)
@click.option(
    "--reason",
    type=click.Choice(_REVOCATION_REASONS, case_sensitive=False),
    default="unspecified",
    show_default=True,
    help="RFC 5280 revocation reason.",
)
def ca_revoke(ca: CAEndpoint, name: str, registrar_msp_dir: Path, reason: str) -> None:
    """Revoke NAME: every certificate it holds, and it can no longer enroll."""
    registrar = _load_registrar(registrar_msp_dir)
    with ca.client() as client:
        result = client.revoke(registrar, name=name, reason=reason.lower())
    click.echo(f"{name}: revoked ({len(result.revoked)} certificate(s))")


@ca.command("provision-demo")
@ca_options
@_directory("--registrar-msp-dir", "MSP dir of a registrar of seocho.* attributes.", required=True)
@_file("--profile", "Existing network profile to add the identities to.", "profile_path", required=True)
@_directory("--out", "Where the MSP directories go: OUT/users/NAME/msp.", required=True)
@click.option(
    "--only-msp",
    "only_msps",
    multiple=True,
    metavar="MSP",
    help="Only the identities of this MSP, for networks with one CA per org (repeatable).",
)
def ca_provision_demo(
    ca: CAEndpoint, registrar_msp_dir: Path, profile_path: Path, out: Path, only_msps: tuple[str, ...]
) -> None:
    """Register and enroll every identity `seocho demo` needs, and add them to the profile.

    Safe to rerun: an identity whose MSP directory exists is kept as it is; one registered by an earlier,
    interrupted run is enrolled with the secret that run kept (OUT/users/NAME/enrollment-secret, 0600,
    deleted once enrolled).
    """
    load_profile(profile_path)
    cast = [entry for entry in cast_names() if not only_msps or entry[1] in only_msps]
    if not cast:
        raise CAUsageError(f"no demo identity belongs to {', '.join(only_msps)}")
    registrar = _load_registrar(registrar_msp_dir)
    provisioned: dict[str, tuple[str, Path]] = {}
    failed: list[str] = []
    try:
        with ca.client() as client:
            for name, msp_id, attributes in cast:
                msp_dir = out / "users" / name / "msp"
                try:
                    click.echo(f"{name}: {_provision(client, registrar, name, attributes, msp_dir)}")
                except (CAError, SeochoError) as exc:
                    # A refusal concerns one identity; an unreachable CA (raised past here) concerns all.
                    message = _refusal(exc).message if isinstance(exc, CAError) else exc.message
                    click.echo(f"{name}: failed: {message}", err=True)
                    failed.append(name)
                    continue
                provisioned[name] = (msp_id, msp_dir)
    finally:
        if provisioned:
            add_identities_to_profile(profile_path, provisioned)
    if failed:
        names = ", ".join(failed)
        raise SeochoError(f"{len(failed)} of {len(cast)} identities were not provisioned: {names}")
    click.echo(f"{profile_path} names all {len(cast)} identities; run: seocho --profile {profile_path} demo")


def _provision(
    client: CAClient, registrar: Enrollment, name: str, attributes: dict[str, str], msp_dir: Path
) -> str:
    """Makes sure `msp_dir` holds `name`'s identity with `attributes`; says what it did."""
    if msp_dir.exists():
        return _check_existing(name, attributes, msp_dir)
    home = msp_dir.parent
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    pending = home / _PENDING_SECRET_FILE
    resumed = pending.exists()
    secret = pending.read_text(encoding="utf-8").strip() if resumed else secrets.token_urlsafe(24)
    if not resumed:
        # Kept before registering: if enrolling then fails, a rerun can still enroll with it.
        _write_private(pending, secret)
    request = RegistrationRequest(
        name, "client", attributes=[Attribute(key, value, ecert=True) for key, value in attributes.items()],
        secret=secret,
    )  # fmt: skip
    try:
        client.register(registrar, request)
        done = "registered and enrolled"
    except CAError as exc:
        already = any("already registered" in message for message in exc.messages)
        if not resumed:
            pending.unlink(missing_ok=True)
        if already and not resumed:
            raise SeochoError(
                f"registered on the CA, but {home} keeps neither its MSP directory nor its secret; "
                "restore the MSP directory, or revoke the identity and provision under a new name"
            ) from None
        if not already:
            raise
        done = "was registered by an earlier run; enrolled with the secret it kept"
    enrollment = client.enroll(name, secret)
    enrollment.write_msp(msp_dir)
    pending.unlink()
    return f"{done} -> {msp_dir}"


def _check_existing(name: str, attributes: dict[str, str], msp_dir: Path) -> str:
    try:
        enrollment = load_msp(msp_dir)
    except (OSError, ValueError):
        raise SeochoError(f"{msp_dir} holds no usable identity; remove it to enroll again") from None
    carried = enrollment.attributes
    wrong = sorted(key for key, value in attributes.items() if carried.get(key) != value)
    if enrollment.enrollment_id != name or wrong:
        what = f"attributes {', '.join(wrong)}" if wrong else f"enrollment id {enrollment.enrollment_id!r}"
        raise SeochoError(f"{msp_dir} holds a certificate with other {what}; remove it to enroll again")
    return "already provisioned (its MSP directory exists); kept as it is"
