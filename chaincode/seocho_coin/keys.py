"""Every key the coin writes, in one place, with who reads and writes it.

The layout is what keeps the coin free of hot keys under Fabric's MVCC validation: a key that many
concurrent transactions WRITE is never READ by them (blind delta rows), and every key that a movement
reads and writes belongs to one member, one request, or one LANE of a staff allowance or quota pool
(`lanes`: concurrent earnings of one staff, or allocations from one pool, draw on different lanes).

key (composite, "~" = U+0000)            written by                        read by
config                                   init_ledger (once)                every transaction
policy~index, policy~v<version>          init_ledger, set_policy           every transaction
institution~<id>                         admin                             its movements
quotalane~<institution>~<year>~<lane>    admin, allocate/reclaim_allowance allocate/reclaim_allowance
allowlane~<inst>~<year>~<staff>~<lane>   allocate/reclaim_allowance, earn  earn by that staff
quota~<institution>~<year>               (old layout: folded into lanes)   allowance changes
allowance~<institution>~<year>~<staff>   (old layout: folded into lanes)   allowance changes
member~<id>                              registrar                         the member's txs
binding~<msp>~<client digest>            registrar (register, rebind,      register, rebind,
                                         deactivate, reactivate)           reactivate
balance~<member>                         the member's movements            the member's movements
hours~<member>~<local date>              earn (hourly activities)          earn for that member
request~<institution>~<request id>       the movement claiming it          that movement only
payreq~<institution>~<request id>        create_payment_request, pay_req   pay_request; movements with its id
receipt|<institution>|<UTC time>|<tx id> pay, donate (blind)               settlement, queries
settlement~<institution>~<id>            request_settlement, mark paid     mark paid, queries
donation~<tx id>                         donate (blind)                    get_donation_receipt
movement~<member>~<timestamp>~<tx id>    every member movement (blind)     get_member_history
stat~<local yyyy-mm>~<UTC time>~<tx id>  every movement (blind)            reports, compact_stats
tally~<local yyyy-mm>~<UTC time>~<tx id> member and institution changes,   reports, compact_stats
                                         first earnings (blind)
statroll~<yyyy-mm>                       compact_stats                     reports

Delta rows (stat, tally) are keyed by time within their month so that `compact_stats` can fold the
rows stamped well before now without its range read ever covering a key a movement in flight could
still add (see `aggregates`). Every count and sum of the district report comes from them: no report
counts members, balances or institutions row by row.

Staff and member client identities appear only as SHA-256 digests of their `cid` id.

Receipt rows ("|" = U+0001) are the one plain-key family: a settlement must read a range bounded
by TIME (every receipt of the institution stamped before a cutoff), and Fabric's shims accept an
explicit end key only for plain keys (`GetStateByRange`), while composite keys can only be scanned
by whole prefix. A bounded range is what keeps settlement from starving: payments committed
meanwhile carry later timestamps, fall outside the range, and cannot make it a phantom read.
U+0001 sorts below every character of ids and timestamps, so one institution's prefix never takes
in another's ("cc-01" vs "cc-01.x"), and no other key starts with "receipt".
"""

from __future__ import annotations

from fabric_shim.keys import create_composite_key

CONFIG = "config"
POLICY_INDEX = create_composite_key("policy", ["index"])

INSTITUTION = "institution"
QUOTA = "quota"
ALLOWANCE = "allowance"
QUOTA_LANE = "quotalane"
ALLOWANCE_LANE = "allowlane"
MEMBER = "member"
BINDING = "binding"
BALANCE = "balance"
HOURS = "hours"
REQUEST = "request"
PAYMENT_REQUEST = "payreq"
RECEIPT = "receipt"
SETTLEMENT = "settlement"
DONATION = "donation"
MOVEMENT = "movement"
STAT = "stat"
STAT_ROLLUP = "statroll"
TALLY = "tally"


def policy(version: int) -> str:
    # Zero-padded so that keys sort by version.
    return create_composite_key("policy", [f"v{version:08d}"])


def institution(institution_id: str) -> str:
    return create_composite_key(INSTITUTION, [institution_id])


def quota(institution_id: str, year: str) -> str:
    return create_composite_key(QUOTA, [institution_id, year])


def allowance(institution_id: str, year: str, staff_digest: str) -> str:
    return create_composite_key(ALLOWANCE, [institution_id, year, staff_digest])


def quota_lane(institution_id: str, year: str, lane: int) -> str:
    return create_composite_key(QUOTA_LANE, [institution_id, year, f"{lane:02d}"])


def allowance_lane(institution_id: str, year: str, staff_digest: str, lane: int) -> str:
    return create_composite_key(ALLOWANCE_LANE, [institution_id, year, staff_digest, f"{lane:02d}"])


def member(member_id: str) -> str:
    return create_composite_key(MEMBER, [member_id])


def binding(msp_id: str, client_digest: str) -> str:
    return create_composite_key(BINDING, [msp_id, client_digest])


def balance(member_id: str) -> str:
    return create_composite_key(BALANCE, [member_id])


def hours(member_id: str, local_date: str) -> str:
    return create_composite_key(HOURS, [member_id, local_date])


def request(institution_id: str, request_id: str) -> str:
    return create_composite_key(REQUEST, [institution_id, request_id])


def payment_request(institution_id: str, request_id: str) -> str:
    return create_composite_key(PAYMENT_REQUEST, [institution_id, request_id])


RECEIPT_SEPARATOR = "\x01"


def receipt(institution_id: str, timestamp: str, tx_id: str) -> str:
    """A receipt row; `timestamp` is the transaction's sortable UTC timestamp (`ids.format_timestamp`)."""
    return RECEIPT_SEPARATOR.join([RECEIPT, institution_id, timestamp, tx_id])


def receipt_range(institution_id: str | None = None, before: str | None = None) -> tuple[str, str]:
    """[start, end) of the receipts of one institution (or of all), optionally only those before `before`."""
    parts = [RECEIPT] if institution_id is None else [RECEIPT, institution_id]
    start = RECEIPT_SEPARATOR.join([*parts, ""])
    if before is not None and institution_id is not None:
        # A row of exactly `before` continues with the separator and sorts after this end key.
        return start, start + before
    return start, start[:-1] + chr(ord(RECEIPT_SEPARATOR) + 1)


def settlement(institution_id: str, settlement_id: str) -> str:
    return create_composite_key(SETTLEMENT, [institution_id, settlement_id])


def donation(tx_id: str) -> str:
    return create_composite_key(DONATION, [tx_id])


def movement(member_id: str, timestamp: str, tx_id: str) -> str:
    return create_composite_key(MOVEMENT, [member_id, timestamp, tx_id])


def stat(month: str, timestamp: str, tx_id: str) -> str:
    return create_composite_key(STAT, [month, timestamp, tx_id])


def tally(month: str, timestamp: str, tx_id: str) -> str:
    return create_composite_key(TALLY, [month, timestamp, tx_id])


def stat_rollup(month: str) -> str:
    return create_composite_key(STAT_ROLLUP, [month])
