"""Who plays the demo's roles: identities enrolled on the embedded ledger, or those a network profile names.

The story is the same on both; only where an identity comes from differs. On a network the identities
must already exist (enrolled from the Fabric CA with the `seocho.*` attributes the chaincode checks), and
the profile names them after the demo's cast (`district-admin`, `staff-welfare`, `member-S-0001`, ...).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Protocol

import fabric_gateway as fg
from embedded_ledger import EmbeddedLedger
from fabric_shim.cid import ClientIdentity

from seocho.backend import EmbeddedBackend, GatewayBackend, connect_gateway
from seocho.coin import Coin
from seocho.errors import SeochoError
from seocho.i18n import _
from seocho.profile import Profile


@dataclass(frozen=True)
class Actor:
    """One identity of the cast: the coin API signing as it, and its client id for bindings."""

    name: str
    coin: Coin
    client_id: str


def client_id_of(serialized_identity: bytes) -> str:
    """The id the chaincode binds members and allowances to: Go's `cid.GetID()` of that identity."""
    return str(ClientIdentity(serialized_identity).id)


class Cast(Protocol):
    def join(self, name: str, msp_id: str, attributes: dict[str, str]) -> Actor:
        """The identity `name` of `msp_id` whose certificate carries `attributes` (`seocho.*`)."""
        ...


class EmbeddedCast:
    """Enrolls each identity from the embedded ledger's local CAs."""

    def __init__(self, ledger: EmbeddedLedger) -> None:
        self.ledger = ledger

    def join(self, name: str, msp_id: str, attributes: dict[str, str]) -> Actor:
        identity = self.ledger.identities.enroll(name, msp_id, attributes)
        return Actor(name, Coin(EmbeddedBackend(self.ledger, identity)), client_id_of(identity.serialized()))


class NetworkCast:
    """Uses the profile's identities, one Gateway connection each, closed with `connections`."""

    def __init__(self, profile: Profile, connections: ExitStack) -> None:
        self.profile = profile
        self.connections = connections

    def join(self, name: str, msp_id: str, attributes: dict[str, str]) -> Actor:
        ref = self.profile.identity(name)
        if ref.msp_id != msp_id:
            raise SeochoError(
                _("the demo needs {name} from {msp_id}; the profile has it in {found}").format(
                    name=name, msp_id=msp_id, found=ref.msp_id
                )
            )
        identity, _signer = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
        carried = ClientIdentity(identity.serialize())
        missing = {k: v for k, v in attributes.items() if carried.get_attribute(k) != v}
        if missing:
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(missing.items()))
            raise SeochoError(
                _("identity {name}'s certificate lacks the attributes the demo needs: {wanted}").format(
                    name=name, wanted=wanted
                )
            )
        gateway = self.connections.enter_context(connect_gateway(self.profile, name))
        contract = gateway.get_network(self.profile.channel).get_contract(self.profile.chaincode)
        return Actor(name, Coin(GatewayBackend(contract)), str(carried.id))
