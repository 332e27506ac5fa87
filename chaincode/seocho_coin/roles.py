"""Who may do what: roles from the caller's MSP and Fabric CA attributes, members from on-ledger bindings.

- ``admin``, ``registrar``, ``auditor``: attribute ``seocho.role`` AND the district MSP (from config);
  the same attribute issued by a partner's CA counts for nothing.
- ``staff``: ``seocho.role=staff`` with ``seocho.institution`` naming a registered, active
  institution, presented under that institution's `staff_msp` (pinned when the institution is
  registered: the attributes alone can be minted by any organisation's CA, so they count only from
  the MSP the district named); ``seocho.manager=true`` makes a manager. Staff of a deactivated
  institution may still settle what it received.
- member: whoever holds the client identity the registrar bound to an active member id, presented
  under the MSP recorded with the binding (a `cid` id names only subject and issuer, which another
  organisation's CA can copy).
Every refusal is `Forbidden` (403) and names the role that was needed, never the caller's details.
"""

from __future__ import annotations

from fabric_shim.contract_errors import Forbidden, NotFound

from seocho_coin import keys
from seocho_coin.records import Institution, Member
from seocho_coin.txn import Tx

ADMIN = "admin"
REGISTRAR = "registrar"
AUDITOR = "auditor"
STAFF = "staff"


def has_district_role(tx: Tx, *roles: str) -> bool:
    return tx.caller.msp_id == tx.config.district_msp and tx.caller.role in roles


def require_district_role(tx: Tx, *roles: str) -> None:
    if not has_district_role(tx, *roles):
        raise Forbidden(f"only a district {' or '.join(roles)} may do this")


def is_staff_of(tx: Tx, institution_id: str) -> bool:
    if tx.caller.role != STAFF or tx.caller.institution_id != institution_id:
        return False
    institution = tx.get(Institution, keys.institution(institution_id))
    return institution is not None and _msp_may_staff(tx, institution)


def _msp_may_staff(tx: Tx, institution: Institution) -> bool:
    # An institution without a staff MSP (a record from before it was required) has no staff at all.
    return bool(institution.staff_msp) and institution.staff_msp == tx.caller.msp_id


def require_staff(tx: Tx, manager: bool = False) -> Institution:
    """The active institution the calling staff works for."""
    institution_id = tx.caller.institution_id
    if tx.caller.role != STAFF or not institution_id or (manager and not tx.caller.is_manager):
        raise Forbidden(f"only {'a manager' if manager else 'staff'} of an institution may do this")
    institution = active_institution(tx, institution_id, for_caller=True)
    if not _msp_may_staff(tx, institution):
        raise Forbidden(f"staff of institution {institution_id} must come from its MSP")
    return institution


def require_staff_of(
    tx: Tx, institution_id: str, manager: bool = False, allow_inactive: bool = False
) -> Institution:
    """The institution when the caller is its staff (or manager); active unless `allow_inactive`."""
    if not is_staff_of(tx, institution_id) or (manager and not tx.caller.is_manager):
        raise Forbidden(
            f"only {'a manager' if manager else 'staff'} of institution {institution_id} may do this"
        )
    if allow_inactive:
        return tx.require(Institution, keys.institution(institution_id), f"institution {institution_id}")
    return active_institution(tx, institution_id, for_caller=True)


def active_institution(tx: Tx, institution_id: str, for_caller: bool = False) -> Institution:
    institution = tx.get(Institution, keys.institution(institution_id))
    if institution is None or not institution.active:
        if for_caller:
            # The caller's own institution is gone: that is an authorization failure, not a lookup.
            raise Forbidden(f"institution {institution_id} is not registered or not active")
        raise NotFound(f"institution {institution_id} is not registered or not active")
    return institution


def is_member_self(tx: Tx, member: Member) -> bool:
    bound_msp = member.msp_id or tx.config.district_msp
    return member.active and member.client_digest == tx.caller.digest and tx.caller.msp_id == bound_msp


def require_member_self(tx: Tx, member_id: str) -> Member:
    """The member record when the caller is that member's bound identity (and the member is active)."""
    member = tx.get(Member, keys.member(member_id))
    if member is None or not is_member_self(tx, member):
        # Same answer for "no such member" and "not you", so ids cannot be probed by outsiders.
        raise Forbidden(f"only the identity bound to member {member_id} may do this")
    return member


def require_member_or_roles(tx: Tx, member_id: str, *roles: str) -> Member:
    """The member record when the caller is that member or holds one of the district `roles`."""
    if has_district_role(tx, *roles):
        member = tx.get(Member, keys.member(member_id))
        if member is None:
            raise NotFound(f"member {member_id} does not exist")
        return member
    return require_member_self(tx, member_id)
