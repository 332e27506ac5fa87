"""Every key the coin writes, in one place, with who reads and writes it.

The layout is what keeps the coin free of hot keys under Fabric's MVCC validation: a key that many
concurrent transactions WRITE is never READ by them (blind delta rows), and every key that a movement
reads and writes belongs to one member, one staff terminal or one request.

key (composite, "~" = U+0000)            written by                        read by
config                                   init_ledger (once)                every transaction
policy~index, policy~v<version>          init_ledger, set_policy           every transaction
institution~<id>                         admin                             its movements
quota~<institution>~<year>               admin, allocate_allowance         allocate_allowance
allowance~<institution>~<year>~<staff>   allocate_allowance, earn          earn by that staff
member~<id>                              registrar                         the member's txs
balance~<member>                         the member's movements            the member's movements
hours~<member>~<local date>              earn (hourly activities)          earn for that member
request~<institution>~<request id>       the movement claiming it          that movement only
payreq~<institution>~<request id>        create_payment_request, pay_req   pay_request
receipt~<institution>~<tx id>            pay, donate (blind)               settlement, queries
settlement~<institution>~<id>            request_settlement, mark paid     mark paid, queries
donation~<tx id>                         donate (blind)                    get_donation_receipt
movement~<member>~<timestamp>~<tx id>    every member movement (blind)     get_member_history
stat~<local yyyy-mm>~<tx id>             every movement (blind)            reports, compact_stats
statroll~<yyyy-mm>                       compact_stats                     reports

Staff and member client identities appear only as SHA-256 digests of their `cid` id.
"""

from __future__ import annotations

from fabric_shim.keys import create_composite_key

CONFIG = "config"
POLICY_INDEX = create_composite_key("policy", ["index"])

INSTITUTION = "institution"
QUOTA = "quota"
ALLOWANCE = "allowance"
MEMBER = "member"
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


def policy(version: int) -> str:
    # Zero-padded so that keys sort by version.
    return create_composite_key("policy", [f"v{version:08d}"])


def institution(institution_id: str) -> str:
    return create_composite_key(INSTITUTION, [institution_id])


def quota(institution_id: str, year: str) -> str:
    return create_composite_key(QUOTA, [institution_id, year])


def allowance(institution_id: str, year: str, staff_digest: str) -> str:
    return create_composite_key(ALLOWANCE, [institution_id, year, staff_digest])


def member(member_id: str) -> str:
    return create_composite_key(MEMBER, [member_id])


def balance(member_id: str) -> str:
    return create_composite_key(BALANCE, [member_id])


def hours(member_id: str, local_date: str) -> str:
    return create_composite_key(HOURS, [member_id, local_date])


def request(institution_id: str, request_id: str) -> str:
    return create_composite_key(REQUEST, [institution_id, request_id])


def payment_request(institution_id: str, request_id: str) -> str:
    return create_composite_key(PAYMENT_REQUEST, [institution_id, request_id])


def receipt(institution_id: str, tx_id: str) -> str:
    return create_composite_key(RECEIPT, [institution_id, tx_id])


def settlement(institution_id: str, settlement_id: str) -> str:
    return create_composite_key(SETTLEMENT, [institution_id, settlement_id])


def donation(tx_id: str) -> str:
    return create_composite_key(DONATION, [tx_id])


def movement(member_id: str, timestamp: str, tx_id: str) -> str:
    return create_composite_key(MOVEMENT, [member_id, timestamp, tx_id])


def stat(month: str, tx_id: str) -> str:
    return create_composite_key(STAT, [month, tx_id])


def stat_rollup(month: str) -> str:
    return create_composite_key(STAT_ROLLUP, [month])
