"""`seocho ca provision-demo`: register and enroll the demo's whole cast on a Fabric CA, with progress.

Each identity takes two CA requests (register, enroll) and a key generation: about a second each, so a
line per identity says how far it is.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import click
from fabric_ca import Attribute, CAClient, CAError, Enrollment, RegistrationRequest, load_msp

from seocho.cli_base import option
from seocho.cli_ca import (
    _PENDING_SECRET_FILE,
    CAEndpoint,
    CAUsageError,
    _directory,
    _file,
    _load_registrar,
    _refusal,
    _write_private,
    ca,
    ca_options,
)
from seocho.demo import cast_names
from seocho.errors import SeochoError
from seocho.i18n import N_, _
from seocho.profile import add_identities_to_profile, load_profile


@ca.command("provision-demo")
@ca_options
@_directory("--registrar-msp-dir", N_("MSP dir of a registrar of seocho.* attributes."), required=True)
@_file("--profile", N_("Existing network profile to add the identities to."), "profile_path", required=True)
@_directory("--out", N_("Where the MSP directories go: OUT/users/NAME/msp."), required=True)
@option(
    "--only-msp",
    "only_msps",
    multiple=True,
    metavar="MSP",
    help=N_("Only the identities of this MSP, for networks with one CA per org (repeatable)."),
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
        raise CAUsageError(_("no demo identity belongs to {msps}").format(msps=", ".join(only_msps)))
    registrar = _load_registrar(registrar_msp_dir)
    provisioned: dict[str, tuple[str, Path]] = {}
    failed: list[str] = []
    click.echo(
        _("Provisioning {count} identities from {url} (about a second each)...").format(
            count=len(cast), url=ca.url
        ),
        err=True,
    )
    started = time.monotonic()
    try:
        with ca.client() as client:
            for number, (name, msp_id, attributes) in enumerate(cast, start=1):
                msp_dir = out / "users" / name / "msp"
                step = f"[{number}/{len(cast)}] {name}"
                try:
                    click.echo(f"{step}: {provision_identity(client, registrar, name, attributes, msp_dir)}")
                except (CAError, SeochoError) as exc:
                    # A refusal concerns one identity; an unreachable CA (raised past here) concerns all.
                    message = _refusal(exc).message if isinstance(exc, CAError) else exc.message
                    click.echo(_("{step}: failed: {message}").format(step=step, message=message), err=True)
                    failed.append(name)
                    continue
                provisioned[name] = (msp_id, msp_dir)
    finally:
        if provisioned:
            add_identities_to_profile(profile_path, provisioned)
    if failed:
        raise SeochoError(
            _("{failed} of {count} identities were not provisioned: {names}").format(
                failed=len(failed), count=len(cast), names=", ".join(failed)
            )
        )
    click.echo(
        _(
            "{profile} names all {count} identities ({seconds:.0f} s); run: seocho --profile {profile} demo"
        ).format(profile=profile_path, count=len(cast), seconds=time.monotonic() - started)
    )


def provision_identity(
    client: CAClient, registrar: Enrollment, name: str, attributes: dict[str, str], msp_dir: Path
) -> str:
    """Makes sure `msp_dir` holds `name`'s identity with `attributes`; says what it did.

    The registration allows one enrolment: the secret is spent once the identity is enrolled (a
    resumed run enrols with it once, the enrolment an interrupted run never made)."""
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
        max_enrollments=1, secret=secret,
    )  # fmt: skip
    try:
        client.register(registrar, request)
        done = _("registered and enrolled")
    except CAError as exc:
        already = any("already registered" in message for message in exc.messages)
        if not resumed:
            pending.unlink(missing_ok=True)
        if already and not resumed:
            raise SeochoError(
                _(
                    "registered on the CA, but {path} keeps neither its MSP directory nor its secret; "
                    "restore the MSP directory, or revoke the identity and provision under a new name"
                ).format(path=home)
            ) from None
        if not already:
            raise
        done = _("was registered by an earlier run; enrolled with the secret it kept")
    enrollment = client.enroll(name, secret)
    enrollment.write_msp(msp_dir)
    pending.unlink()
    return f"{done} -> {msp_dir}"


def _check_existing(name: str, attributes: dict[str, str], msp_dir: Path) -> str:
    try:
        enrollment = load_msp(msp_dir)
    except (OSError, ValueError):
        raise SeochoError(
            _("{path} holds no usable identity; remove it to enroll again").format(path=msp_dir)
        ) from None
    carried = enrollment.attributes
    wrong = sorted(key for key, value in attributes.items() if carried.get(key) != value)
    if enrollment.enrollment_id != name or wrong:
        if wrong:
            what = _("attributes {names}").format(names=", ".join(wrong))
        else:
            what = _("enrollment id {id!r}").format(id=enrollment.enrollment_id)
        raise SeochoError(
            _("{path} holds a certificate with other {what}; remove it to enroll again").format(
                path=msp_dir, what=what
            )
        )
    return _("already provisioned (its MSP directory exists); kept as it is")
