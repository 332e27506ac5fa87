"""The checks the upgrade and migration tests make of what the coin load (load.py) left, natively and in
Docker."""

from __future__ import annotations

from collections.abc import Sequence

from fabric_network_support import RunningNetwork
from load import MEMBERS, STAFF, Outcome, _evidence
from test_faults_under_load import balance, wait_for_equal_heights
from upgrade_support import UNTOUCHED


def institution_statements(network: RunningNetwork) -> dict[str, object]:
    """What the demo left the institutions the load never touches: their coins and settlements."""
    with network.coin("district-auditor") as auditor:
        return {i: auditor.get_institution_statement(i) for i in UNTOUCHED}


def check_balances(
    network: RunningNetwork, outcomes: Sequence[Outcome], before: dict[str, int], demo: dict[str, object]
) -> None:
    """Every member's balance is `before` plus exactly the load's VALID movements; the institutions the
    load never touches keep the `demo` statements; the supply audit is ok and both organisations' peers
    answer the same."""
    wait_for_equal_heights(network)
    for member in MEMBERS:
        moved = sum(o.coins for o in outcomes if o.member == member and o.result == "valid")
        assert balance(network, member) == before[member] + moved, member
    assert institution_statements(network) == demo
    answers = []
    for org in (network.district, network.partners):
        with network.coin("district-auditor", org) as auditor:
            answers.append((auditor.audit_supply(), [auditor.get_balance(m) for m in MEMBERS]))
    assert answers[0][0]["ok"] is True
    assert answers[0] == answers[1], "the two organisations' peers answer different states"


def a_new_earning_commits(network: RunningNetwork, request_id: str) -> None:
    """One more earning, after the change, moves the member's balance by exactly its coin."""
    before = balance(network, "S-0002")
    with network.coin(STAFF) as staff:
        staff.earn("S-0002", "course_session", 1, _evidence(request_id), request_id)
    assert balance(network, "S-0002") == before + 1
