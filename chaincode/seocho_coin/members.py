"""Members: pseudonymous ids with registrar-attested categories, bound to one client identity.

The ledger stores only the member id, its categories (e.g. "senior", never a birth date), the
SHA-256 digest of the bound client identity id and that identity's MSP (`client_id` may be given as
``MSPID:<cid id>``; a bare id means the district MSP, whose CA enrolls residents). Rebinding
replaces the identity (a lost phone); deactivation blocks every transaction of the member, while
their coins stay outstanding; reactivation lifts the block.

One identity, one member: a per-identity index key (`binding~<msp>~<digest>`, one per identity, so
registrations of different residents never share a key) names the member an identity is bound to.
Binding an identity already bound to another active member is refused (409); rebinding moves the
index, deactivation removes it, reactivation claims it again (409 if another active member has it).
"""

from __future__ import annotations

from typing import Any

from fabric_shim.contract_errors import Conflict

from seocho_coin import ids, keys, roles
from seocho_coin.records import Binding, Member
from seocho_coin.txn import Tx, client_digest


def register_member(tx: Tx, member_id: str, categories: list[str], client_id: str) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    cats = ids.require_categories("categories", categories)
    msp_id, bare_id = ids.require_client_ref("client_id", client_id)
    roles.require_district_role(tx, roles.REGISTRAR)
    key = keys.member(member_id)
    if tx.exists(key):
        raise Conflict(f"member {member_id} is already registered")
    member = Member(
        member_id,
        cats,
        client_digest(bare_id),
        active=True,
        registered_at=tx.timestamp,
        msp_id=msp_id or tx.config.district_msp,
    )
    _claim_identity(tx, member)
    tx.put(key, member)
    return view(member)


def rebind_member(tx: Tx, member_id: str, client_id: str) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    msp_id, bare_id = ids.require_client_ref("client_id", client_id)
    roles.require_district_role(tx, roles.REGISTRAR)
    member = _active(tx, member_id)
    previous = _binding_key(member)
    member.client_digest = client_digest(bare_id)
    member.msp_id = msp_id or tx.config.district_msp
    _claim_identity(tx, member)
    if previous != _binding_key(member):
        _release_identity(tx, previous, member_id)
    tx.put(keys.member(member_id), member)
    return view(member)


def set_member_categories(tx: Tx, member_id: str, categories: list[str]) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    cats = ids.require_categories("categories", categories)
    roles.require_district_role(tx, roles.REGISTRAR)
    member = _active(tx, member_id)
    member.categories = cats
    tx.put(keys.member(member_id), member)
    return view(member)


def deactivate_member(tx: Tx, member_id: str) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    roles.require_district_role(tx, roles.REGISTRAR)
    member = _active(tx, member_id)
    member.active = False
    _release_identity(tx, _binding_key(member), member_id)
    tx.put(keys.member(member_id), member)
    return view(member)


def reactivate_member(tx: Tx, member_id: str) -> dict[str, Any]:
    """Let a deactivated member act again through the identity they were bound to (registrar).

    That identity may meanwhile have been bound to another active member: 409, and the registrar
    rebinds one of them first. The member's coins were kept while inactive.
    """
    ids.require_id("member_id", member_id)
    roles.require_district_role(tx, roles.REGISTRAR)
    member = tx.require(Member, keys.member(member_id), f"member {member_id}")
    if member.active:
        raise Conflict(f"member {member_id} is already active")
    if not member.msp_id:
        # A record from before the MSP was kept: pin it now, so the index key is the one used from now on.
        member.msp_id = tx.config.district_msp
    _claim_identity(tx, member)
    member.active = True
    tx.put(keys.member(member_id), member)
    return view(member)


def get_member(tx: Tx, member_id: str) -> dict[str, Any]:
    """The member record: the member, the registrar, an admin or an auditor."""
    ids.require_id("member_id", member_id)
    member = roles.require_member_or_roles(tx, member_id, roles.REGISTRAR, roles.ADMIN, roles.AUDITOR)
    return view(member)


def _binding_key(member: Member) -> str:
    return keys.binding(member.msp_id, member.client_digest)


def _claim_identity(tx: Tx, member: Member) -> None:
    """Index the member's identity; 409 when it already belongs to another active member."""
    key = _binding_key(member)
    found = tx.get(Binding, key)
    if found is not None and found.member_id != member.member_id:
        holder = tx.get(Member, keys.member(found.member_id))
        if holder is not None and holder.active and _binding_key(holder) == key:
            raise Conflict(f"this client identity is already bound to member {found.member_id}")
    tx.put(key, Binding(member.member_id, member.msp_id, member.client_digest))


def _release_identity(tx: Tx, key: str, member_id: str) -> None:
    """Drop an index entry, but only while it still names `member_id`."""
    found = tx.get(Binding, key)
    if found is not None and found.member_id == member_id:
        tx.delete(key)


def _active(tx: Tx, member_id: str) -> Member:
    member = tx.require(Member, keys.member(member_id), f"member {member_id}")
    if not member.active:
        raise Conflict(f"member {member_id} is deactivated")
    return member


def view(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "categories": member.categories,
        "active": member.active,
        "registered_at": member.registered_at,
    }
