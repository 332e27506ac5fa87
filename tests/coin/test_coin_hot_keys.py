"""No hot keys: concurrent movements touching one institution commit in ONE block, all VALID.

Fabric validates a block's transactions in order against the state before the block plus the writes
of the earlier valid transactions in it; a transaction that read a key an earlier one wrote is
MVCC_READ_CONFLICT. The embedded ledger applies the same rule.
"""

from __future__ import annotations

from datetime import timedelta

from coin_network import DISTRICT, EVIDENCE, CoinNetwork
from fabric_protos.peer.transaction_pb2 import TxValidationCode

N = 16


def crowd(net: CoinNetwork) -> None:
    """N members with coins and N staff of cc-01 with allowances."""
    for n in range(N):
        net.enroll(f"member{n}", DISTRICT, role="member")
        net.submit("registrar", "register_member", f"M-{n:03d}9", ["senior"], net.client_id(f"member{n}"))
        net.enroll(f"staff{n}", DISTRICT, role="staff", institution="cc-01")
        net.submit("cc_manager", "allocate_allowance", "cc-01", net.client_id(f"staff{n}"), "2024", 100)
        net.submit("cc_manager", "earn", f"M-{n:03d}9", "volunteer_hour", 2, EVIDENCE, f"seed{n}")


def test_concurrent_payments_to_one_institution_all_commit(net: CoinNetwork) -> None:
    crowd(net)
    endorsed = [
        net.endorse(f"member{n}", "pay", f"M-{n:03d}9", "cc-01", 1000, 5, "gym", f"pay{n}") for n in range(N)
    ]
    block = net.ledger.commit(endorsed)
    assert block.validation_codes == [TxValidationCode.VALID] * N
    assert net.query("cc_manager", "get_institution_statement", "cc-01")["unredeemed"]["coins"] == 5 * N
    assert net.query("auditor", "audit_supply")["ok"]


def test_concurrent_earnings_attested_by_one_institution_all_commit(net: CoinNetwork) -> None:
    crowd(net)
    endorsed = [
        net.endorse(f"staff{n}", "earn", f"M-{n:03d}9", "course_session", 2, EVIDENCE, f"earn{n}")
        for n in range(N)
    ]
    block = net.ledger.commit(endorsed)
    assert block.validation_codes == [TxValidationCode.VALID] * N
    assert net.query("auditor", "get_report")["coins"]["earned"] == N * 6 + N * 2


def test_mixed_block_of_earnings_payments_and_donations_all_commit(net: CoinNetwork) -> None:
    crowd(net)
    endorsed = []
    for n in range(N):
        member = f"M-{n:03d}9"
        if n % 3 == 0:
            endorsed.append(net.endorse(f"staff{n}", "earn", member, "course_session", 1, EVIDENCE, f"m{n}"))
        elif n % 3 == 1:
            endorsed.append(net.endorse(f"member{n}", "pay", member, "cc-01", 1000, 3, "gym", f"m{n}"))
        else:
            endorsed.append(net.endorse(f"member{n}", "donate", member, "charity-01", 2, f"m{n}"))
    assert net.ledger.commit(endorsed).validation_codes == [TxValidationCode.VALID] * N
    assert net.query("auditor", "audit_supply")["ok"]


def test_contrast_same_member_twice_in_one_block_conflicts(net: CoinNetwork) -> None:
    crowd(net)
    first = net.endorse("member0", "pay", "M-0009", "cc-01", 1000, 1, "gym", "a")
    second = net.endorse("member0", "pay", "M-0009", "cc-01", 1000, 1, "gym", "b")
    block = net.ledger.commit([first, second])
    assert block.validation_codes == [TxValidationCode.VALID, TxValidationCode.MVCC_READ_CONFLICT]
    assert net.query("member0", "get_balance", "M-0009")["coins"] == 5


def test_contrast_one_staff_attesting_twice_in_one_lane_in_one_block_conflicts(net: CoinNetwork) -> None:
    """The lane is what keeps one staff's concurrent earnings apart: two in one lane serialise."""
    crowd(net)
    first = net.endorse("staff0", "earn", "M-0009", "course_session", 1, EVIDENCE, "a", 5)
    second = net.endorse("staff0", "earn", "M-0019", "course_session", 1, EVIDENCE, "b", 5)
    block = net.ledger.commit([first, second])
    assert block.validation_codes == [TxValidationCode.VALID, TxValidationCode.MVCC_READ_CONFLICT]


def test_settlement_and_concurrent_payments_to_that_institution_all_commit(net: CoinNetwork) -> None:
    """Settlement reads only receipts stamped before its cutoff, so new payments never phantom it."""
    crowd(net)
    for n in range(4):
        net.submit(f"member{n}", "pay", f"M-{n:03d}9", "cc-01", 1000, 1, "gym", f"before{n}")
    net.clock.advance(minutes=2)
    concurrent = range(4, N)
    endorsed = [
        net.endorse(f"member{n}", "pay", f"M-{n:03d}9", "cc-01", 1000, 2, "gym", f"during{n}")
        for n in concurrent
    ]
    settle = net.endorse("cc_manager", "request_settlement", "cc-01", "S-1", "")
    # New payments ordered both before and after the settlement in the same block.
    block = net.ledger.commit([*endorsed[:6], settle, *endorsed[6:]])
    assert block.validation_codes == [TxValidationCode.VALID] * (len(concurrent) + 1)
    statement = net.query("cc_manager", "get_institution_statement", "cc-01")
    assert statement["settlements"][0]["coins"] == 4
    assert statement["unredeemed"]["coins"] == 2 * len(concurrent)
    assert net.query("auditor", "audit_supply")["ok"]


def test_contrast_a_payment_stamped_before_the_cutoff_makes_the_settlement_retry(net: CoinNetwork) -> None:
    """The cutoff is what protects the settlement: a row landing inside its range is still a phantom."""
    crowd(net)
    net.submit("member1", "pay", "M-0019", "cc-01", 1000, 1, "gym", "earlier")
    net.clock.advance(minutes=2)
    net.clock.client_offset = timedelta(seconds=-90)  # inside the skew allowance, before the cutoff
    backdated = net.endorse("member0", "pay", "M-0009", "cc-01", 1000, 1, "gym", "backdated")
    net.clock.client_offset = timedelta()
    settle = net.endorse("cc_manager", "request_settlement", "cc-01", "S-1", "")
    codes = net.ledger.commit([backdated, settle]).validation_codes
    assert codes == [TxValidationCode.VALID, TxValidationCode.PHANTOM_READ_CONFLICT]
    assert net.submit("cc_manager", "request_settlement", "cc-01", "S-1", "")["coins"] == 2  # the retry
    assert net.query("auditor", "audit_supply")["ok"]


def test_registering_members_in_one_block_all_commit(net: CoinNetwork) -> None:
    """The one-identity-one-member index is a key per identity, never a shared one."""
    endorsed = []
    for n in range(N):
        net.enroll(f"resident{n}", DISTRICT, role="member")
        cid = net.client_id(f"resident{n}")
        endorsed.append(net.endorse("registrar", "register_member", f"R-{n:03d}", ["resident"], cid))
    assert net.ledger.commit(endorsed).validation_codes == [TxValidationCode.VALID] * N
