"""Network profiles: where the Gateway peer is, how to trust it, and which identities a client may use.

District IT writes one per network (the planned `scripts/network.sh up` will write
`$SEOCHO_HOME/network/profile.yaml`).

```yaml
channel: seocho
chaincode: seocho
gateway:
  address: 127.0.0.1:7051
  tls_root_cert: /home/it/.seocho/network/tls/district-ca.pem
  server_name: peer0.district.seocho.local     # optional: the name in the peer's TLS certificate
  client_cert: /path/to/tls/client.pem          # optional: for peers that require mutual TLS
  client_key: /path/to/tls/client.key
identities:
  district-admin: {msp_id: SeochoDistrictMSP, msp_dir: /home/it/.seocho/network/users/admin/msp}
  wc-staff:       {msp_id: PartnersMSP, msp_dir: /home/it/.seocho/network/users/wc-staff/msp}
ca:                                  # optional: the identity CA `seocho serve` relays enrolments to
  msp_id: SeochoDistrictMSP
  url: https://127.0.0.1:7054
  tls_root_cert: /home/it/.seocho/network/orgs/district.seocho.local/ca/ca-cert.pem
  ca_name: ca-district                          # optional: one CA of a multi-CA server
```

Relative paths are relative to the profile's own directory.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fabric_gateway as fg
import yaml

from seocho.errors import SeochoError
from seocho.i18n import _


class ProfileError(SeochoError):
    """The profile is missing, unreadable or incomplete."""


@dataclass(frozen=True)
class GatewayEndpoint:
    address: str
    tls_root_cert: Path
    server_name: str | None = None
    client_cert: Path | None = None
    client_key: Path | None = None


@dataclass(frozen=True)
class CAEndpoint:
    """An organisation's identity CA: where its members enrol."""

    msp_id: str
    url: str
    tls_root_cert: Path
    ca_name: str | None = None


@dataclass(frozen=True)
class IdentityRef:
    msp_id: str
    msp_dir: Path


@dataclass(frozen=True)
class Profile:
    path: Path
    channel: str
    chaincode: str
    gateway: GatewayEndpoint
    identities: dict[str, IdentityRef] = field(default_factory=dict)
    timeouts: fg.Timeouts = field(default_factory=fg.Timeouts)
    ca: CAEndpoint | None = None

    def identity(self, name: str) -> IdentityRef:
        try:
            return self.identities[name]
        except KeyError:
            known = ", ".join(sorted(self.identities)) or _("none")
            raise ProfileError(
                _("profile {path} names no identity {name!r} (it has: {known})").format(
                    path=self.path, name=name, known=known
                )
            ) from None


def load_profile(path: str | Path) -> Profile:
    """Read and check a profile; every problem is a one-line `ProfileError`."""
    profile_path = Path(path).expanduser()
    try:
        document = yaml.safe_load(profile_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(
            _("cannot read profile {path}: {reason}").format(path=profile_path, reason=exc.strerror)
        ) from None
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0]
        raise ProfileError(
            _("profile {path} is not valid YAML: {reason}").format(path=profile_path, reason=reason)
        ) from None
    if not isinstance(document, dict):
        raise ProfileError(_("profile {path} must be a YAML mapping").format(path=profile_path))
    base = profile_path.parent

    def text(mapping: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = mapping.get(key, default)
        if not isinstance(value, str) or not value:
            raise ProfileError(
                _("profile {path}: {key} must be a non-empty string").format(
                    path=profile_path, key=where + key
                )
            )
        return value

    def optional_path(mapping: dict[str, Any], key: str, where: str) -> Path | None:
        return base / text(mapping, key, where) if mapping.get(key) is not None else None

    gateway = document.get("gateway")
    if not isinstance(gateway, dict):
        raise ProfileError(
            _("profile {path}: gateway needs address and tls_root_cert").format(path=profile_path)
        )
    endpoint = GatewayEndpoint(
        address=text(gateway, "address", "gateway."),
        tls_root_cert=base / text(gateway, "tls_root_cert", "gateway."),
        server_name=gateway.get("server_name") or None,
        client_cert=optional_path(gateway, "client_cert", "gateway."),
        client_key=optional_path(gateway, "client_key", "gateway."),
    )
    if (endpoint.client_cert is None) != (endpoint.client_key is None):
        raise ProfileError(
            _("profile {path}: gateway.client_cert and client_key go together").format(path=profile_path)
        )
    identities: dict[str, IdentityRef] = {}
    raw_identities = document.get("identities") or {}
    if not isinstance(raw_identities, dict):
        raise ProfileError(
            _("profile {path}: identities must be a mapping of name to msp_id/msp_dir").format(
                path=profile_path
            )
        )
    for name, entry in raw_identities.items():
        if not isinstance(entry, dict):
            raise ProfileError(
                _("profile {path}: identity {name!r} must have msp_id and msp_dir").format(
                    path=profile_path, name=name
                )
            )
        where = f"identities.{name}."
        msp_dir = base / text(entry, "msp_dir", where)
        identities[str(name)] = IdentityRef(text(entry, "msp_id", where), msp_dir)
    ca: CAEndpoint | None = None
    raw_ca = document.get("ca")
    if raw_ca is not None:
        if not isinstance(raw_ca, dict):
            raise ProfileError(
                _("profile {path}: ca needs msp_id, url and tls_root_cert").format(path=profile_path)
            )
        ca = CAEndpoint(
            msp_id=text(raw_ca, "msp_id", "ca."),
            url=text(raw_ca, "url", "ca."),
            tls_root_cert=base / text(raw_ca, "tls_root_cert", "ca."),
            ca_name=text(raw_ca, "ca_name", "ca.") if raw_ca.get("ca_name") is not None else None,
        )
    return Profile(
        path=profile_path,
        channel=text(document, "channel", "", "seocho"),
        chaincode=text(document, "chaincode", "", "seocho"),
        gateway=endpoint,
        identities=identities,
        timeouts=_timeouts(document.get("timeouts"), profile_path),
        ca=ca,
    )


_TIMEOUT_NAMES = ("evaluate", "endorse", "submit", "commit_status")


def _timeouts(raw: Any, profile_path: Path) -> fg.Timeouts:
    """`timeouts: {evaluate, endorse, submit, commit_status}` in seconds; the Gateway client's defaults."""
    if raw is None:
        return fg.Timeouts()
    if not isinstance(raw, dict) or not set(raw) <= set(_TIMEOUT_NAMES):
        raise ProfileError(
            _("profile {path}: timeouts takes seconds for {names}").format(
                path=profile_path, names=", ".join(_TIMEOUT_NAMES)
            )
        )
    chosen: dict[str, float] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
            raise ProfileError(
                _("profile {path}: timeouts.{name} must be a number of seconds from 0 to 3600").format(
                    path=profile_path, name=name
                )
            )
        chosen[name] = float(value)
    return dataclasses.replace(fg.Timeouts(), **chosen)


def add_identities_to_profile(profile_path: Path, identities: dict[str, tuple[str, Path]]) -> None:
    """Adds or updates `identities` (name -> (MSP id, MSP directory)) in an existing, valid profile.

    Other keys are kept (YAML comments are not). MSP directories under the profile's directory are
    written relative to it, others absolute, as `load_profile` reads them.
    """
    load_profile(profile_path)  # refuse to edit what is not a working profile
    document = yaml.safe_load(profile_path.read_text(encoding="utf-8"))
    listed = document.get("identities") or {}
    base = profile_path.resolve().parent
    for name, (msp_id, msp_dir) in identities.items():
        absolute = msp_dir.resolve()
        shown = absolute.relative_to(base).as_posix() if absolute.is_relative_to(base) else str(absolute)
        listed[name] = {"msp_id": msp_id, "msp_dir": shown}
    document["identities"] = listed
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    # Replace atomically, keeping the file's mode: a half-written profile would break every command.
    descriptor, temporary = tempfile.mkstemp(dir=profile_path.parent, prefix=f".{profile_path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, stat.S_IMODE(profile_path.stat().st_mode))
        os.replace(temporary, profile_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
