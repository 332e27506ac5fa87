"""Read plans: the keys a coin movement is sure to read, fetched before its rule runs, in batched reads.

A movement used to read its ~10 keys one GET_STATE at a time, each a round trip to the peer that
the peer serves too. On a peer that offers GET_STATE_MULTIPLE (Fabric v3.1) a plan reads them in
two or three batched calls instead (on v2.5 the same plan falls back to single reads, costing what
the rule would have):

1. what the arguments and the caller name: the policy index, the institution, the request id's two
   keys, the member and the balance;
2. what those reads name: the policy versions in force at the proposal's timestamp and at the
   peer's clock, and (payments, donations) the versions the balance's lots were earned under;
3. (earnings) what the policy names: the staff allowance's lane of the policy's local year and the
   member's hours of the policy's local day. When this process has read the version in force before,
   these go with step 2 in one call: a stored version never changes (`set_policy` only appends), so
   the remembered copy names the same keys as the one being read. Then the plan checks that it did,
   and fails the movement (an internal error: nothing endorsed) if not, rather than let a read set
   leave that a server without the memory would not record.

Why this keeps the read set exactly as the rule alone records it: a plan reads only keys that the
rule reads on every path that succeeds, and computes them from the proposal and from values it read
from the ledger; the one thing it takes from the process's memory (step 3's remembered policy) only
decides which call a key goes in, and is checked against the ledger's copy, so every endorser of a
successful movement records the same read set as before, warm or not. A refused movement's read set
is thrown away with it. A plan never refuses: when an argument is malformed or a record missing it
stops, and the rule then refuses in its own order (the failed check above is an internal error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from fabric_shim.contract_errors import ContractError

from seocho_coin import balances, ids, keys, lanes
from seocho_coin.policy import Policy, version_in_force
from seocho_coin.txn import Tx

ReadPlan = Callable[..., None]
"""Called as `plan(tx, peer_now, *rule_arguments)` before the rule runs."""


def run(plan: ReadPlan | None, tx: Tx, peer_now: datetime, *args: Any) -> None:
    """Run `plan`; a refusal met on the way ends it quietly (the rule will meet it again, in order)."""
    if plan is None:
        return
    with contextlib.suppress(ContractError):
        plan(tx, peer_now, *args)


def earn(
    tx: Tx,
    peer_now: datetime,
    member_id: str,
    activity: str,
    quantity: int,
    evidence_hash: str,
    request_id: str,
    lane: int = lanes.AUTO,
) -> None:
    institution_id = tx.caller.institution_id
    if not institution_id:
        return
    for name, value in (
        ("member_id", member_id),
        ("request_id", request_id),
        ("institution", institution_id),
    ):
        ids.require_id(name, value)
    ids.require_code("activity", activity)
    index = lanes.lane_index(lane, request_id)
    tx.prefetch(
        [
            keys.POLICY_INDEX,
            keys.institution(institution_id),
            *_request_keys(institution_id, request_id),
            keys.member(member_id),
            keys.balance(member_id),
        ]
    )

    def named_by(policy: Policy) -> list[str]:
        rule = policy.activity(activity)
        wanted = [keys.allowance_lane(institution_id, policy.local_year(tx.now), tx.caller.digest, index)]
        if rule.counts_toward_daily_hours:
            wanted.append(keys.hours(member_id, policy.local_date(tx.now)))
        return wanted

    guessed: list[str] = []
    version = version_in_force(tx.policy_versions(), tx.now)
    remembered = None if version is None else tx.remembered_policy(version)
    if remembered is not None:
        with contextlib.suppress(ContractError):  # an unknown activity: the rule refuses it
            guessed = named_by(remembered)
    policy = _prefetch_policies(tx, peer_now, with_keys=guessed)
    if policy is None:
        return
    wanted = named_by(policy)
    if guessed and guessed != wanted:
        raise RuntimeError(f"policy version {policy.version} differs from the copy this process read before")
    tx.prefetch(wanted)  # nothing left to read when the guess was made


def pay(
    tx: Tx,
    peer_now: datetime,
    member_id: str,
    institution_id: str,
    price_krw: int,
    coins: int,
    service_code: str,
    request_id: str,
) -> None:
    _spend(tx, peer_now, member_id, institution_id, request_id)


def pay_request(tx: Tx, peer_now: datetime, institution_id: str, request_id: str, member_id: str) -> None:
    _spend(tx, peer_now, member_id, institution_id, request_id)


def donate(tx: Tx, peer_now: datetime, member_id: str, charity_id: str, coins: int, request_id: str) -> None:
    _spend(tx, peer_now, member_id, charity_id, request_id)


def _spend(tx: Tx, peer_now: datetime, member_id: str, institution_id: str, request_id: str) -> None:
    """A payment or donation reads the member, the institution, both request keys and the balance, then
    the policies in force and those of every lot it may spend (the spend order looks at each lot)."""
    for name, value in (
        ("member_id", member_id),
        ("institution_id", institution_id),
        ("request_id", request_id),
    ):
        ids.require_id(name, value)
    tx.prefetch(
        [
            keys.POLICY_INDEX,
            keys.member(member_id),
            keys.institution(institution_id),
            *_request_keys(institution_id, request_id),
            keys.balance(member_id),
        ]
    )
    _prefetch_policies(tx, peer_now, _lot_versions(balances.load(tx, member_id).lots))


def _request_keys(institution_id: str, request_id: str) -> list[str]:
    return [keys.payment_request(institution_id, request_id), keys.request(institution_id, request_id)]


def _lot_versions(lots: Iterable[str]) -> set[int]:
    found = set()
    for lot in lots:
        _year, mark, version = lot.partition(balances.VERSION_MARK)
        if mark and version.isdigit():
            found.add(int(version))
    return found


def _prefetch_policies(
    tx: Tx, peer_now: datetime, also: Iterable[int] = (), with_keys: Iterable[str] = ()
) -> Policy | None:
    """Read the versions in force at the peer's clock and at the proposal's timestamp (every
    transaction checks both) and `also`, and `with_keys` in the same call; returns the one at the
    proposal's timestamp, if any."""
    index = tx.policy_versions()
    in_force = {version_in_force(index, moment) for moment in (peer_now, tx.now)}
    known = {version for version, _effective in index}
    wanted = sorted(v for v in in_force | set(also) if v is not None and v in known)
    tx.prefetch([*(keys.policy(v) for v in wanted), *with_keys])
    return tx.policy_in_force
