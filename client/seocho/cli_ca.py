"""`seocho ca`: network identities from a Fabric CA — enroll, register, revoke, and provision the demo's cast.

Secrets never travel as plain arguments (they would show in `ps` and shell history): they are read from an
environment variable, a file only its owner can read, or a hidden prompt, and written only to 0600 files.
Every failure is one `SeochoError` line: the CA refusing (exit 3/4/5/6 like a chaincode refusal), the CA
unreachable or its TLS untrusted (8), a usage problem such as a malformed URL (2), anything else (1).
"""

from __future__ import annotations

import functools
import os
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
from seocho.cli_base import option
from seocho.cli_types import positive
from seocho.errors import ConnectionFailedError, SeochoError
from seocho.i18n import _
from seocho.identity_rules import check_enrolment
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
            raise CAUsageError(_("an https CA needs --tls-root (the PEM root of the CA's TLS certificate)"))
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
        message = _one_line(
            _("TLS with the CA at {url} failed ({reason}); is --tls-root the root of its TLS certificate?")
            .format(url=url, reason=reason)
        )  # fmt: skip
        raise ConnectionFailedError(message) from None


def _refusal(exc: CAError) -> CARefusedError:
    said = "; ".join(exc.messages) or _("no details")
    message = _("the CA refused (HTTP {status}): {said}").format(status=exc.status, said=said)
    return CARefusedError(_one_line(message), exc.status)


def _check_url(_ctx: click.Context, _param: click.Parameter, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CAUsageError(_("--url must be http(s)://host:port, got {url!r}").format(url=url))
    try:
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError:
        raise CAUsageError(_("--url has a bad port: {url!r}").format(url=url)) from None
    return url


def _read_tls_root(path: Path) -> bytes:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SeochoError(
            _("cannot read the CA's TLS root {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SeochoError(_("{path} holds no PEM certificate").format(path=path)) from None
    return pem


def _directory(flag: str, help: str, *names: str, **kwargs: Any) -> Callable[[Any], Any]:
    return option(flag, *names, type=click.Path(file_okay=False, path_type=Path), help=help, **kwargs)


def _file(flag: str, help: str, *names: str, **kwargs: Any) -> Callable[[Any], Any]:
    return option(flag, *names, type=click.Path(dir_okay=False, path_type=Path), help=help, **kwargs)


def ca_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --url, --tls-root, --ca-name and --timeout to `command`; it receives them as `ca: CAEndpoint`."""

    @functools.wraps(command)
    def with_endpoint(
        *args: Any, url: str, tls_root: Path | None, ca_name: str | None, timeout: float, **kwargs: Any
    ) -> Any:
        return command(*args, ca=CAEndpoint(url, tls_root, ca_name, timeout), **kwargs)

    options = [
        option("--url", required=True, envvar="SEOCHO_CA_URL", callback=_check_url,
                     help="The CA's URL, https://host:port (or SEOCHO_CA_URL)."),
        _file("--tls-root", "PEM root of the CA's TLS certificate (or SEOCHO_CA_TLS_ROOT).",
              envvar="SEOCHO_CA_TLS_ROOT"),
        option("--ca-name", default=None, help="CA of a multi-CA server [default: the server's]."),
        option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per request."),
    ]  # fmt: skip
    for add_option in reversed(options):
        with_endpoint = add_option(with_endpoint)
    return with_endpoint


def _read_secret(secret_env: str | None, secret_file: Path | None) -> str:
    """The enrollment secret from an environment variable, an owner-only file, or a hidden prompt."""
    if secret_env and secret_file:
        raise CAUsageError(_("give the secret once: --secret-env or --secret-file, not both"))
    if secret_env:
        secret = os.environ.get(secret_env, "")
        if not secret:
            raise SeochoError(_("environment variable {name} holds no secret").format(name=secret_env))
        return secret
    if secret_file is not None:
        try:
            mode = secret_file.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise SeochoError(
                    _("{path} is open to others (mode {mode}); chmod 600 it").format(
                        path=secret_file, mode=f"{mode & 0o777:o}"
                    )
                )
            secret = secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SeochoError(
                _("cannot read secret file {path}: {reason}").format(path=secret_file, reason=exc.strerror)
            ) from None
        if not secret:
            raise SeochoError(_("secret file {path} is empty").format(path=secret_file))
        return secret
    return str(click.prompt(_("Enrollment secret"), hide_input=True, err=True))


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
        message = _("cannot load the registrar from {path}: {reason}").format(path=msp_dir, reason=detail)
        raise SeochoError(_one_line(message)) from None


def _attributes(items: tuple[str, ...]) -> list[Attribute]:
    attributes = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CAUsageError(_("--attr {item!r} is not NAME=VALUE").format(item=item))
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
@option("--msp-id", help="The identity's MSP id, e.g. SeochoDistrictMSP (needed with --profile-add).")
@option("--secret-env", metavar="VAR", help="Read the secret from this environment variable.")
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
        raise CAUsageError(_("--profile-add needs --msp-id (the profile records each identity's MSP id)"))
    if profile_add is not None:
        load_profile(profile_add)  # fail before the CA issues a certificate nobody will find
    if msp_dir.exists() and (not msp_dir.is_dir() or any(msp_dir.iterdir())):
        raise SeochoError(_("{path} is not empty; enroll into a new directory").format(path=msp_dir))
    secret = _read_secret(secret_env, secret_file)
    with ca.client() as client:
        enrollment = client.enroll(name, secret)
    enrollment.write_msp(msp_dir)
    if profile_add is not None and msp_id:
        add_identities_to_profile(profile_add, {name: (msp_id, msp_dir)})
    click.echo(
        _("{name}: enrolled (serial {serial}) -> {path}").format(
            name=name, serial=enrollment.serial_hex, path=msp_dir
        )
    )


@ca.command("register")
@click.argument("name")
@ca_options
@_directory("--registrar-msp-dir", "MSP dir of an identity allowed to register.", required=True)
@option("--type", "identity_type", default="client", help="client (default), peer, orderer, admin.")
@option("--affiliation", default="", help="Dotted affiliation [default: the registrar's].")
@option("--attr", "attrs", multiple=True, metavar="NAME=VALUE", help="Certificate attribute (repeatable).")
@option("--max-enrollments", type=positive, help="How often the secret may enroll [default: the CA's].")
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
    """Register NAME; print its enrollment secret, or write it to --secret-out.

    An identity with seocho.* attributes is checked as `seocho identity enroll` checks it: a known
    role, and a member named by a pseudonymous member id (S-0042), never by a person's name.
    """
    attributes = _attributes(attrs)
    coin_attributes = {a.name: a.value for a in attributes if a.name.startswith("seocho.")}
    if coin_attributes:
        check_enrolment(name, coin_attributes)
    registrar = _load_registrar(registrar_msp_dir)
    request = RegistrationRequest(name, identity_type, affiliation, attributes, max_enrollments)
    with ca.client() as client:
        secret = client.register(registrar, request)
    if secret_out is None:
        click.echo(secret)
        return
    _write_private(secret_out, secret)
    click.echo(_("{name}: registered; its enrollment secret is in {path}").format(name=name, path=secret_out))


@ca.command("revoke")
@click.argument("name")
@ca_options
@_directory("--registrar-msp-dir", "MSP dir of an identity with the hf.Revoker right.", required=True)
@option(
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
    click.echo(_("{name}: revoked ({count} certificate(s))").format(name=name, count=len(result.revoked)))


from seocho import cli_ca_provision  # noqa: E402,F401  (registers `seocho ca provision-demo`)
