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

from fabric_shim.contract_errors import BadRequest, Conflict

from seocho_coin import census, ids, keys, roles
from seocho_coin.records import Binding, Member, Tally
from seocho_coin.txn import Tx, client_digest

MAX_BATCH = 1_000
"""Members one `register_members` call may register (bounds its read and write sets)."""

MEMBER_EVENT = "member"


def register_member(tx: Tx, member_id: str, categories: list[str], client_id: str) -> dict[str, Any]:
    ids.require_member_id("member_id", member_id)
    cats = ids.require_categories("categories", categories)
    msp_id, bare_id = ids.require_client_ref("client_id", client_id)
    roles.require_district_role(tx, roles.REGISTRAR)
    member = _register(tx, member_id, cats, msp_id, bare_id)
    census.record(tx, census.registered(cats))
    _emit(tx, "register", [member])
    return view(member)


def register_members(tx: Tx, entries: list[Any]) -> dict[str, Any]:
    """Register up to `MAX_BATCH` members in one transaction (registrar), e.g. a district's enrolment.

    `entries` are objects `{"member_id", "categories", "client_id"}`, each checked as
    `register_member` checks one; any bad entry refuses the whole batch, naming it, and nothing is
    registered.
    """
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_BATCH:
        raise BadRequest(f"entries must be a list of 1 to {MAX_BATCH} members")
    checked = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"member_id", "categories", "client_id"}:
            raise BadRequest(f"entry {number} must be an object with member_id, categories and client_id")
        ids.require_member_id(f"entries[{number}].member_id", entry["member_id"])
        cats = ids.require_categories(f"entries[{number}].categories", entry["categories"])
        msp_id, bare_id = ids.require_client_ref(f"entries[{number}].client_id", entry["client_id"])
        checked.append((entry["member_id"], cats, msp_id, bare_id))
    roles.require_district_role(tx, roles.REGISTRAR)
    registered = [_register(tx, *fields) for fields in checked]
    tally = Tally()
    for member in registered:
        one = census.registered(member.categories)
        tally.members += 1
        tally.active_members += 1
        for name, count in one.categories.items():
            tally.categories[name] = tally.categories.get(name, 0) + count
    census.record(tx, tally)
    _emit(tx, "register", registered)
    return {"registered": len(registered)}


def _register(tx: Tx, member_id: str, cats: list[str], msp_id: str | None, bare_id: str) -> Member:
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
    return member


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
    census.record(tx, census.recategorised(member.categories, cats))
    member.categories = cats
    tx.put(keys.member(member_id), member)
    _emit(tx, "categories", [member])
    return view(member)


def deactivate_member(tx: Tx, member_id: str) -> dict[str, Any]:
    ids.require_id("member_id", member_id)
    roles.require_district_role(tx, roles.REGISTRAR)
    member = _active(tx, member_id)
    member.active = False
    _release_identity(tx, _binding_key(member), member_id)
    tx.put(keys.member(member_id), member)
    census.record(tx, Tally(active_members=-1))
    _emit(tx, "deactivate", [member])
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
    census.record(tx, Tally(active_members=1))
    _emit(tx, "reactivate", [member])
    return view(member)


def get_member(tx: Tx, member_id: str) -> dict[str, Any]:
    """The member record: the member, the registrar, an admin or an auditor."""
    ids.require_id("member_id", member_id)
    member = roles.require_member_or_roles(tx, member_id, roles.REGISTRAR, roles.ADMIN, roles.AUDITOR)
    return view(member)


def _emit(tx: Tx, change: str, changed: list[Member]) -> None:
    """The `member` event: pseudonymous ids and categories only, for off-chain reporting stores."""
    tx.emit(
        MEMBER_EVENT,
        {
            "tx_id": tx.tx_id,
            "kind": MEMBER_EVENT,
            "change": change,
            "timestamp": tx.timestamp,
            "members": [
                {"member_id": m.member_id, "categories": m.categories, "active": m.active} for m in changed
            ],
        },
    )


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
