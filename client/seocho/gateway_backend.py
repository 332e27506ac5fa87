"""Coin transactions through a Fabric peer's Gateway, with a definite outcome for every submission.

A submission ends in one of three ways, whatever fails on the way:
- committed VALID: the result is returned;
- not committed: a refusal (`RejectedError`), an endorsement that failed, or a transaction invalidated at
  commit (`CommitConflictError`) - nothing changed, and resubmitting is safe;
- unknown (`OutcomeUnknownError`, with the transaction id): it was handed to the orderers but no commit
  status came back in time (a peer or orderer went down). `seocho tx status TXID` tells later; resubmitting
  with the same request id is safe too, since the chaincode refuses a request id it has already seen.

Transient faults are ridden out within the profile's timeouts: the orderers are asked again (the same
signed transaction, so it can commit at most once) while Raft elects a new leader, and the commit status is
asked again while the peer restarts. When no commit status comes within `resubmit_after` seconds (an
orderer that took the transaction may have died with it before ordering it), the same signed transaction is
offered to the orderers again, and again, until it commits or the commit patience ends: a transaction id
can commit once only (a peer invalidates a second copy as DUPLICATE_TXID and answers the first's status),
so a resubmission never doubles a movement, and a crashed orderer costs seconds instead of the whole
commit-status timeout.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import fabric_gateway as fg
import grpc

from seocho.errors import (
    CommitConflictError,
    ConnectionFailedError,
    OutcomeUnknownError,
    SeochoError,
    rejected,
)
from seocho.i18n import _
from seocho.profile import Profile, ProfileError

T = TypeVar("T")

# Fabric's gateway reports a chaincode's failure in the peer's ErrorDetail as "chaincode response 403, ...".
_CHAINCODE_RESPONSE = re.compile(r"chaincode response (\d{3}), (.*)", re.DOTALL)
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# What Fabric v2.5's gateway answers when the profile names a channel or chaincode the peer does not have.
_NO_CHANNEL = "failed to get config for channel"
_NO_CHAINCODE = "No metadata was found for chaincode"
_NOT_LAUNCHED = "could not launch chaincode"


def _said(details: Sequence[fg.ErrorDetail]) -> str:
    return "; ".join(f"{d.address} ({d.msp_id}): {d.message}" for d in details)


def _sdk_error(error: fg.GatewayError, channel: str = "", chaincode: str = "") -> SeochoError:
    for detail in error.details:
        match = _CHAINCODE_RESPONSE.search(detail.message)
        if match:
            return rejected(int(match.group(1)), match.group(2).strip())
    not_launched = [d for d in error.details if _NOT_LAUNCHED in d.message]
    if not_launched:
        return ConnectionFailedError(
            _("the chaincode is not running: {details}").format(details=_said(not_launched))
        )
    if _NO_CHANNEL in error.message:
        return ProfileError(
            _("the peer has no channel {channel!r}: check channel in the network profile").format(
                channel=channel
            )
        )
    if _NO_CHAINCODE in error.message:
        return ProfileError(
            _("the peer knows no chaincode {chaincode!r} on channel {channel!r}: check the network profile")
            .format(chaincode=chaincode, channel=channel)
        )  # fmt: skip
    said = f" ({_said(error.details)})" if error.details else ""
    if error.code in _UNREACHABLE:
        return ConnectionFailedError(
            _("the peer did not answer ({code}): {message}").format(
                code=error.code.name.lower(), message=error.message + said
            )
        )
    return SeochoError(
        _("the gateway refused the transaction ({code}): {message}").format(
            code=error.code.name, message=error.message + said
        )
    )


# The gateway's words when the endorsing peers' answers differ. With a deterministic chaincode that means
# one peer simulated on an older block than another: the other organisation's peer may commit the block
# that the previous transaction of this client is in a few milliseconds later than the gateway's own.
_ENDORSERS_DISAGREED = "failed to collect enough transaction endorsements"
_DISAGREEMENT_BACKOFF_SECONDS = (0.1, 0.3, 0.9)
# Worth asking again: the orderer or peer is restarting, or Raft is electing a leader.
# Normal commits take under a second (a 250 ms batch timeout); under load a few. Longer without a status
# means the transaction was most likely lost with an orderer.
RESUBMIT_AFTER_SECONDS = 4.0
_TRANSIENT = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.UNKNOWN,
)


class GatewayBackend:
    """Submits through a Fabric peer's Gateway service and waits for a definite outcome.

    Args:
        contract: The contract on the Gateway connection.
        retry_on_mvcc_conflict: Run a transaction invalidated by MVCC_READ_CONFLICT again, up to N times.
        submit_patience: Seconds to keep offering a transaction to the orderers (a Raft election takes
            a few seconds).
        commit_patience: Seconds to keep asking for the commit status before the outcome is unknown.
        resubmit_after: Seconds without a commit status after which the same signed transaction is
            offered to the orderers again.
    """

    def __init__(
        self,
        contract: fg.Contract,
        *,
        retry_on_mvcc_conflict: int = 0,
        submit_patience: float = 20.0,
        commit_patience: float = 60.0,
        resubmit_after: float = RESUBMIT_AFTER_SECONDS,
    ) -> None:
        self.contract = contract
        self.resubmit_after = resubmit_after
        self.retry_on_mvcc_conflict = retry_on_mvcc_conflict
        self.submit_patience = submit_patience
        self.commit_patience = commit_patience
        #: How many times a transaction was offered to the orderers again for want of a commit status.
        self.resubmissions = 0
        #: The id of the last transaction this backend endorsed (its final attempt), for receipts and logs.
        self.last_transaction_id: str | None = None

    def submit(self, function: str, args: Sequence[str]) -> bytes:
        conflicts = 0
        while True:
            try:
                return self._submit_once(function, args)
            except fg.CommitError as exc:
                if exc.code_name == "MVCC_READ_CONFLICT" and conflicts < self.retry_on_mvcc_conflict:
                    conflicts += 1
                    continue
                raise CommitConflictError(exc.transaction_id, exc.code_name) from None

    def _submit_once(self, function: str, args: Sequence[str]) -> bytes:
        transaction = self._endorse(function, args)
        self.last_transaction_id = transaction.transaction_id
        commit = self._hand_to_orderers(transaction)
        status = self._commit_status(commit, transaction)
        if not status.successful:
            raise fg.CommitError(status.transaction_id, status.code)
        return transaction.result

    def _endorse(self, function: str, args: Sequence[str]) -> fg.Transaction:
        for pause in (*_DISAGREEMENT_BACKOFF_SECONDS, None):
            proposal = self.contract.new_proposal(function, *args)
            try:
                return proposal.endorse()
            except fg.EndorseError as exc:
                # Nothing was submitted: a failed endorsement is always "not committed".
                if pause is None or _ENDORSERS_DISAGREED not in exc.message:
                    raise self._error(exc) from None
                time.sleep(pause)
            except fg.GatewayError as exc:
                raise self._error(exc) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _hand_to_orderers(self, transaction: fg.Transaction) -> fg.Commit:
        def refused(exc: fg.GatewayError) -> SeochoError:
            return OutcomeUnknownError(
                transaction.transaction_id,
                _("the orderers did not confirm it ({reason})").format(reason=_one_line(exc)),
            )

        return _patiently(lambda: transaction.submit(), self.submit_patience, refused)

    def _commit_status(self, commit: fg.Commit, transaction: fg.Transaction) -> fg.Status:
        def lost(exc: fg.GatewayError) -> SeochoError:
            return OutcomeUnknownError(
                commit.transaction_id,
                _("no commit status came back ({reason})").format(reason=_one_line(exc)),
            )

        deadline = time.monotonic() + self.commit_patience
        pause = 0.2
        while True:
            window = min(self.resubmit_after, deadline - time.monotonic())
            try:
                return commit.status(timeout=max(0.5, window))
            except fg.GatewayError as exc:
                if exc.code not in _TRANSIENT or time.monotonic() >= deadline:
                    raise lost(exc) from None
                if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    # No status in the window: offer the same signed transaction again (it commits once
                    # at most). An orderer still down refuses it; the next window tries again.
                    offer = max(0.5, min(self.resubmit_after, deadline - time.monotonic()))
                    with contextlib.suppress(fg.GatewayError):
                        transaction.submit(timeout=offer)
                    self.resubmissions += 1
                else:  # the peer itself is away: ask again shortly
                    time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                    pause = min(pause * 2, 2.0)

    def transaction_status(self, transaction_id: str, wait: float) -> fg.Status | None:
        """The commit status of `transaction_id`, or None when the peer saw no commit within `wait` s."""
        commit = self.contract.new_commit(transaction_id)
        try:
            return commit.status(timeout=wait)
        except fg.CommitStatusError as exc:
            if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return None
            raise self._error(exc) from None

    def _error(self, error: fg.GatewayError) -> SeochoError:
        return _sdk_error(error, self.contract.channel_id, self.contract.chaincode_name)

    def evaluate(self, function: str, args: Sequence[str]) -> bytes:
        try:
            return self.contract.evaluate_transaction(function, *args)
        except fg.GatewayError as exc:
            raise self._error(exc) from None


def _patiently(
    call: Callable[[], T], patience: float, give_up: Callable[[fg.GatewayError], SeochoError]
) -> T:
    """`call()`, asked again after transient gRPC failures until `patience` seconds have passed."""
    deadline = time.monotonic() + patience
    pause = 0.2
    while True:
        try:
            return call()
        except fg.GatewayError as exc:
            if exc.code not in _TRANSIENT or time.monotonic() + pause > deadline:
                raise give_up(exc) from None
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _one_line(error: fg.GatewayError) -> str:
    return f"{error.code.name}: {error.message}".splitlines()[0]


def backend_for(profile: Profile, gateway: fg.Gateway) -> GatewayBackend:
    """The coin backend on `gateway`, as patient as the profile's timeouts say.

    The orderers are offered a transaction for up to four submit timeouts (long enough for a Raft
    election); the commit status is awaited for the commit_status timeout.
    """
    contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
    return GatewayBackend(
        contract,
        submit_patience=4 * (profile.timeouts.submit or 5.0),
        commit_patience=profile.timeouts.commit_status or 60.0,
    )


@contextmanager
def connect_gateway(profile: Profile, identity_name: str) -> Iterator[fg.Gateway]:
    """A Gateway connection to the profile's peer, signing as the profile's identity `identity_name`."""
    ref = profile.identity(identity_name)
    try:
        identity, signer = fg.load_msp_directory(ref.msp_id, ref.msp_dir)
    except (OSError, ValueError) as exc:
        raise SeochoError(
            _("cannot load identity {name!r} from {path}: {reason}").format(
                name=identity_name, path=ref.msp_dir, reason=exc
            )
        ) from None
    endpoint = profile.gateway
    try:
        gateway = fg.connect(
            endpoint.address,
            identity,
            signer,
            tls_root_certs=endpoint.tls_root_cert,
            client_cert=endpoint.client_cert,
            client_key=endpoint.client_key,
            server_name_override=endpoint.server_name,
            timeouts=profile.timeouts,
        )
    except (OSError, ValueError) as exc:
        raise ConnectionFailedError(
            _("cannot connect to {address}: {reason}").format(address=endpoint.address, reason=exc)
        ) from None
    with gateway:
        yield gateway
