"""After a network is up: the demo's cast from each organisation's CA, and the coin ledger's first policy.

These are the client's steps, not the network's: a real deployment enrols its own people instead and
its district admin runs `seocho init`. A network home (`scripts/network.sh up` writes one) holds a
`orgs/<domain>/ca-access.yaml` per organisation (its MSP id, CA URL, the CA's TLS root and the
organisation's registrar MSP directory), `profile.yaml` and the per-organisation `profile-*.yaml`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from fabric_ca import CAClient, load_msp

from seocho.backend import connect_gateway
from seocho.coin import Coin
from seocho.demo import DISTRICT_MSP, cast_names
from seocho.errors import ConflictError, SeochoError
from seocho.gateway_backend import backend_for
from seocho.i18n import _
from seocho.profile import add_identities_to_profile, load_profile

Say = Callable[[str], None]
DEMO_ADMIN = "district-admin"


@dataclass(frozen=True)
class CAAccess:
    """How one organisation's own tools reach its CA."""

    msp_id: str
    url: str
    tls_root: Path
    registrar_msp_dir: Path

    @classmethod
    def read(cls, path: Path) -> CAAccess:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(
            str(document["msp_id"]),
            str(document["url"]),
            Path(document["tls_root"]),
            Path(document["registrar_msp_dir"]),
        )


def ca_accesses(network_home: Path) -> list[CAAccess]:
    found = [CAAccess.read(path) for path in sorted(network_home.glob("orgs/*/ca-access.yaml"))]
    if not found:
        raise SeochoError(
            _("{home} holds no organisation (orgs/*/ca-access.yaml): is the network up?").format(
                home=network_home
            )
        )
    return found


def profiles(network_home: Path) -> list[Path]:
    """profile.yaml first, then the per-organisation profiles beside it."""
    main = network_home / "profile.yaml"
    if not main.exists():
        raise SeochoError(_("{path} is missing: is the network up?").format(path=main))
    return [main, *sorted(network_home.glob("profile-*.yaml"))]


def provision_demo(network_home: Path, say: Say = print) -> int:
    """Registers (each once: max_enrollments 1) and enrols the demo's cast at its organisation's CA into
    NETWORK_HOME/users, and names it in every profile. Safe to rerun. Returns how many identities."""
    from seocho.cli_ca_provision import provision_identity

    cast = cast_names()
    provisioned: dict[str, tuple[str, Path]] = {}
    for access in ca_accesses(network_home):
        mine = [entry for entry in cast if entry[1] == access.msp_id]
        registrar = load_msp(access.registrar_msp_dir)
        with CAClient(access.url, access.tls_root, timeout=15) as client:
            for name, msp_id, attributes in mine:
                msp_dir = network_home / "users" / name / "msp"
                provision_identity(client, registrar, name, attributes, msp_dir)
                provisioned[name] = (msp_id, msp_dir)
        say(f"  {access.msp_id}: {len(mine)} identities of the demo's cast")
    for profile in profiles(network_home):
        add_identities_to_profile(profile, provisioned)
    return len(provisioned)


def initialise_ledger(network_home: Path, say: Say = print) -> bool:
    """The coin ledger's policy version 1, submitted by the demo's district admin; False when it had one.

    Does nothing (returns False) when the profile names no district admin: a real deployment's admin
    runs `seocho init` with their own identity."""
    profile = load_profile(network_home / "profile.yaml")
    if DEMO_ADMIN not in profile.identities:
        say("  no demo cast in the profile: the district admin initialises the ledger (seocho init)")
        return False
    with connect_gateway(profile, DEMO_ADMIN) as gateway:
        coin = Coin(backend_for(profile, gateway))
        try:
            coin.init_ledger(DISTRICT_MSP)
        except ConflictError:
            say("  coin ledger already initialised")
            initialised = False
        else:
            say(f"  coin ledger initialised by {DEMO_ADMIN} (policy version 1)")
            initialised = True
        # An upgrade may change the data layout: the migrations bring the ledger up to the chaincode's.
        applied = coin.migrate()
        say(f"  ledger migrations applied: {len(applied)}" if applied else "  ledger layout is current")
    return initialised
