"""What a coin identity's certificate may say, checked when it is enrolled or registered.

The ledger keeps a digest of each member's certificate names forever, so a member's identity is named by
a pseudonymous member id (`S-0001`), never by a person's name; the demo's cast prefixes it
(`member-S-0001`), which names nothing personal either. Roles come from the set the chaincode knows,
so a typo fails at enrolment instead of later with an unrelated refusal.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from seocho.errors import BadRequestError
from seocho.i18n import _

ROLES = ("admin", "registrar", "auditor", "staff", "member")
ROLE, INSTITUTION, MANAGER = "seocho.role", "seocho.institution", "seocho.manager"
KNOWN_ATTRIBUTES = (ROLE, INSTITUTION, MANAGER)

MEMBER_ID_PATTERN = re.compile(r"[A-Z]{1,4}-[0-9]{1,12}")
"""A member id: a short upper-case prefix, a dash and a number (S-0001, M-1); never a name."""

_MEMBER_IDENTITY_NAME = re.compile(rf"(member-)?{MEMBER_ID_PATTERN.pattern}")
_INSTITUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # the chaincode's id pattern


def _refuse(message: str) -> BadRequestError:
    return BadRequestError(400, message)


def require_member_id(member_id: str) -> str:
    if not MEMBER_ID_PATTERN.fullmatch(member_id):
        raise _refuse(
            _(
                "member id {member_id!r} is not pseudonymous: use a code like S-0001 "
                "(upper-case letters, a dash, digits), never a name"
            ).format(member_id=member_id)
        )
    return member_id


def check_enrolment(name: str, attributes: Mapping[str, str]) -> None:
    """Refuses (bad request) an identity whose `seocho.*` attributes the chaincode would not honour."""
    unknown = sorted(key for key in attributes if key.startswith("seocho.") and key not in KNOWN_ATTRIBUTES)
    if unknown:
        raise _refuse(
            _("unknown attribute {names}; known: {known}").format(
                names=", ".join(unknown), known=", ".join(KNOWN_ATTRIBUTES)
            )
        )
    role = attributes.get(ROLE)
    if role not in ROLES:
        shown = _("none") if role is None else repr(role)
        raise _refuse(
            _("seocho.role must be one of {roles} (got {role})").format(roles=", ".join(ROLES), role=shown)
        )
    if MANAGER in attributes and attributes[MANAGER] not in ("true", "false"):
        raise _refuse(_("seocho.manager must be true or false"))
    if role == "staff":
        institution = attributes.get(INSTITUTION, "")
        if not _INSTITUTION_ID.fullmatch(institution):
            raise _refuse(_("staff need seocho.institution=INSTITUTION_ID (the institution they work for)"))
    elif INSTITUTION in attributes or MANAGER in attributes:
        raise _refuse(_("only staff carry seocho.institution and seocho.manager"))
    if role == "member" and not _MEMBER_IDENTITY_NAME.fullmatch(name):
        raise _refuse(
            _(
                "a member's identity is named by a pseudonymous member id such as S-0001 "
                "(or member-S-0001), never by a person's name; got {name!r}"
            ).format(name=name)
        )


def common_name_of_client_id(client_id: str) -> str | None:
    """The CN of the certificate a client id (Go's `cid.GetID()`, optionally `MSP:` first) names."""
    encoded = client_id.partition(":")[2] if ":" in client_id else client_id
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not decoded.startswith("x509::"):
        return None
    subject = decoded[len("x509::") :].split("::", 1)[0]
    match = re.search(r"(?:^|[,+])CN=((?:\\.|[^,+])*)", subject)
    return match.group(1) if match else None


def require_pseudonymous_client(client_id: str) -> None:
    """Refuses binding a member to a certificate whose name is not a member id (e.g. a person's name)."""
    name = common_name_of_client_id(client_id)
    if name is not None and not _MEMBER_IDENTITY_NAME.fullmatch(name):
        raise _refuse(
            _(
                "the identity's certificate is named {name!r}, not by a pseudonymous member id; "
                "enroll the member as e.g. S-0001"
            ).format(name=name)
        )
