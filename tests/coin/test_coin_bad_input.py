"""Bad input fails with a 4xx and a clear message, and the simulation writes nothing."""

from __future__ import annotations

import json

import pytest
from coin_network import CHAINCODE, DISTRICT, EVIDENCE, CallFailed, CoinNetwork

TOO_LONG_ID = "M" * 65
HUGE = "9" * 4301
# Decodes to a str that cannot be written as UTF-8 (json.dumps escapes the lone surrogate).
LONE_SURROGATE_DESCRIPTION = json.dumps(
    {
        "effective_from": "now",
        "activities": {"x": {"unit": "h", "coins_per_unit": 1, "description": "\ud800"}},
    }
)

CASES = [
    ("cc_staff", "earn", ["M-001", "volunteer_hour", 0, EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M-001", "volunteer_hour", -3, EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M-001", "volunteer_hour", 10**12, EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M-001", "volunteer_hour", "two", EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M-001", "volunteer_hour", 1, "not-a-hash", "r1"], 400),
    ("cc_staff", "earn", [TOO_LONG_ID, "volunteer_hour", 1, EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M 001", "volunteer_hour", 1, EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M-001", "x" * 300, 1, EVIDENCE, "r1"], 400),
    ("cc_staff", "earn", ["M-001", "volunteer_hour", 1, EVIDENCE], 400),  # missing argument
    ("cc_staff", "earn", ["M-404", "volunteer_hour", 1, EVIDENCE, "r1"], 404),
    ("m1", "pay", ["M-001", "cc-01", 0, 1, "gym", "p1"], 400),
    ("m1", "pay", ["M-001", "cc-01", 1000, 10**10, "gym", "p1"], 400),
    ("m1", "pay", ["M-001", "cc-01", 1000, 2, "gym", "p1"], 409),  # no coins yet
    ("m1", "donate", ["M-001", "charity-01", 1, "../../etc"], 400),
    ("registrar", "register_member", ["M-009", ["senior", "martian"], "QUJD"], 400),
    ("registrar", "register_member", ["M-009", "senior", "QUJD"], 400),  # not JSON
    ("registrar", "register_member", ["M-009", [], "QUJD"], 400),
    ("registrar", "register_member", ["M-009", ["senior"], "not base64!"], 400),
    ("registrar", "register_member", ["M-001", ["senior"], "QUJD"], 409),
    ("registrar", "register_members", [[]], 400),
    ("registrar", "register_members", [{"member_id": "M-009"}], 400),
    ("registrar", "register_members", [[{"member_id": "M-009", "categories": ["senior"]}]], 400),
    (
        "registrar",
        "register_members",
        [[{"member_id": "M-009", "categories": ["x"], "client_id": "QUJD"}]],
        400,
    ),
    (
        "registrar",
        "register_members",
        [[{"member_id": m, "categories": ["senior"], "client_id": "QUJD"} for m in ("M-009", "M-009")]],
        409,
    ),
    (
        "registrar",
        "register_members",
        [[{"member_id": "M-001", "categories": ["senior"], "client_id": "QUJD"}]],
        409,
    ),
    ("admin", "register_institution", ["x-1", "bank", [], False, False, 0, DISTRICT], 400),
    ("admin", "register_institution", ["x-1", "other", ["no_such"], False, False, 0, DISTRICT], 400),
    ("admin", "register_institution", ["x-1", "other", [], "maybe", False, 0, DISTRICT], 400),
    ("admin", "register_institution", ["x-1", "other", [], False, False, 0], 400),  # no staff MSP
    ("admin", "register_institution", ["x-1", "other", [], False, False, 0, ""], 400),
    ("admin", "register_institution", ["x-1", "other", [], False, False, 0, "Bad MSP!"], 400),
    ("admin", "register_institution", ["cc-01", "other", [], False, False, 0, DISTRICT], 409),
    ("cc_manager", "request_settlement", ["cc-01", "S-1", "yesterday"], 400),
    ("cc_manager", "request_settlement", ["cc-01", "S-1", "2030-01-01T00:00:00Z"], 400),  # not before now
    ("cc_manager", "request_settlement", ["cc-01", "S-1"], 400),  # missing cutoff
    ("admin", "set_policy", ["{not json"], 400),
    # JSON integers beyond Python's 4,300-digit conversion limit, in every list and dict argument.
    ("admin", "set_policy", [f'{{"effective_from": "now", "payment_unit": {HUGE}}}'], 400),
    ("registrar", "register_member", ["M-009", f'["senior", {HUGE}]', "QUJD"], 400),
    ("registrar", "set_member_categories", ["M-001", f"[{HUGE}]"], 400),
    ("admin", "register_institution", ["x-1", "other", f"[{HUGE}]", False, False, 0, DISTRICT], 400),
    ("admin", "update_institution", ["cc-01", f"[{HUGE}]", True, False], 400),
    ("admin", "set_policy", ['{"effective_from": "now", "coin_value_krw": NaN}'], 400),
    ("admin", "set_policy", [LONE_SURROGATE_DESCRIPTION], 400),
    ("admin", "allocate_allowance", ["cc-01", "QUJD", "24", 1], 400),
    ("admin", "reclaim_allowance", ["cc-01", "QUJD", "24", 1], 400),
    ("admin", "reclaim_allowance", ["cc-01", "QUJD", "2024", 0], 400),
    ("admin", "reclaim_allowance", ["cc-01", "not base64!", "2024", 1], 400),
    ("admin", "reclaim_allowance", ["cc-01", "QUJD", "2024", 1], 409),  # nothing allocated to reclaim
    ("admin", "reclaim_allowance", ["nope-01", "QUJD", "2024", 1], 404),
    ("registrar", "reactivate_member", ["M-001"], 409),  # already active
    ("registrar", "reactivate_member", ["M-404"], 404),
    ("registrar", "reactivate_member", [TOO_LONG_ID], 400),
    ("admin", "reactivate_institution", ["cc-01"], 409),  # already active
    ("admin", "reactivate_institution", ["nope-01"], 404),
    ("admin", "reactivate_institution", ["x 1"], 400),
    ("admin", "compact_stats", ["March"], 400),
    ("admin", "no_such_function", [], 400),
]


@pytest.mark.parametrize(("who", "fn", "args", "status"), CASES)
def test_bad_input_fails_cleanly_and_writes_nothing(
    net: CoinNetwork, who: str, fn: str, args: list[object], status: int
) -> None:
    before = net.query("auditor", "audit_supply")
    simulated = net.simulate(who, fn, *args)
    assert simulated.response.status == status, simulated.response.message
    assert simulated.response.message and "internal" not in simulated.response.message
    assert simulated.rwset.is_read_only
    assert simulated.event is None
    assert net.query("auditor", "audit_supply") == before


@pytest.mark.parametrize("member_id", ["kim-minji", "Minji", "M-1x", "S_0001", "901231-1234567", "m-0001"])
def test_a_member_id_that_is_not_a_pseudonymous_code_is_refused_by_the_chaincode(
    net: CoinNetwork, member_id: str
) -> None:
    """The chaincode, not only the CLI, keeps names off the ledger: registration takes S-0001-like codes."""
    net.enroll("newcomer", DISTRICT, role="member")
    before = net.ledger.world_state(CHAINCODE)
    for call in (
        ("register_member", member_id, ["resident"], net.client_id("newcomer")),
        ("register_members", [{"member_id": member_id, "categories": ["resident"],
                               "client_id": net.client_id("newcomer")}]),
    ):  # fmt: skip
        with pytest.raises(CallFailed) as refused:
            net.submit("registrar", *call)
        assert refused.value.status == 400 and "pseudonymous" in refused.value.message
    assert net.ledger.world_state(CHAINCODE) == before
