"""`seocho index`: coin events from blocks into the off-chain reporting store (the off-chain data pattern).

Every block from the store's checkpoint on is read through the Gateway client's block events
(`fabric_gateway.follow_blocks`, which reconnects after a peer restart); of each VALID transaction of
the coin chaincode, the event says what happened: a movement (earn, pay, donate, redeem, expire) or
a member change (`member`: registration, categories, (de)activation). Invalidated transactions and
other chaincodes' are skipped. Only pseudonymous ids, categories and amounts reach the store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import fabric_gateway as fg
from fabric_gateway.block_follow import FollowStats, follow_blocks, transactions_of_block

from seocho.index_store import MemberChange, Movement, Store

MOVEMENT_KINDS = frozenset({"earn", "pay", "donate", "redeem", "expire"})
LOCAL_OFFSET = timedelta(hours=9)
"""Months are Seoul months, as the default policy's `utc_offset_minutes` (540) makes the ledger's."""


def local_month(timestamp: str) -> str:
    return (datetime.fromisoformat(timestamp) + LOCAL_OFFSET).strftime("%Y-%m")


def changes_of_block(block: Any, chaincode: str) -> tuple[list[Movement], list[MemberChange]]:
    """The coin movements and member changes of a block's valid transactions of `chaincode`."""
    movements: list[Movement] = []
    members: list[MemberChange] = []
    for tx in transactions_of_block(block):
        if not tx.valid or tx.chaincode_name != chaincode or not tx.event_name:
            continue
        event = json.loads(tx.event_payload)
        if tx.event_name in MOVEMENT_KINDS:
            movements.append(
                Movement(
                    tx_id=tx.transaction_id,
                    kind=tx.event_name,
                    coins=int(event["coins"]),
                    krw=int(event["krw"]),
                    timestamp=event["timestamp"],
                    month=local_month(event["timestamp"]),
                    member_id=event.get("member_id", ""),
                    institution_id=event.get("institution_id", ""),
                    activity=event.get("activity", ""),
                    policy_version=int(event.get("policy_version", 0)),
                )
            )
        elif tx.event_name == "member":
            month = local_month(event["timestamp"])
            for member in event["members"]:
                members.append(
                    MemberChange(
                        event["change"],
                        member["member_id"],
                        tuple(member["categories"]),
                        member["active"],
                        month,
                    )
                )
    return movements, members


def apply_block(store: Store, block: Any, chaincode: str) -> int:
    """Apply one block; the number of movements it held (0 when it was already applied)."""
    movements, members = changes_of_block(block, chaincode)
    applied = store.apply_block(int(block.header.number), movements, members)
    return len(movements) if applied else 0


def run_index(
    network: fg.Network,
    store: Store,
    chaincode: str,
    *,
    idle_seconds: float | None = 2.0,
    stop: threading.Event | None = None,
    give_up_after: float | None = 60.0,
    on_height: Callable[[int], None] | None = None,
) -> tuple[FollowStats, int]:
    """Follow the channel's blocks into `store` from its checkpoint; (what was followed, movements).

    `on_height(n)` is told after each block that the store holds n blocks (for its lag metric).
    """
    moved = 0

    def open_stream(start: int, timeout: float | None) -> Any:
        return network.block_events(start_block=start, timeout=timeout)

    def apply(block: Any) -> None:
        nonlocal moved
        moved += apply_block(store, block, chaincode)
        if on_height is not None:
            on_height(int(block.header.number) + 1)

    stats = follow_blocks(
        open_stream,
        store.next_block,
        apply,
        idle_seconds=idle_seconds,
        stop=stop,
        give_up_after=give_up_after,
    )
    return stats, moved
