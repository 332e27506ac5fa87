"""Where coin transactions go: the embedded ledger today, a Fabric network through the Gateway next.

A backend takes a transaction name and string arguments, submits or evaluates it as one identity, and
returns the chaincode's payload; a refusal becomes a `RejectedError`, a commit failure a
`CommitConflictError`. The coin API above it is the same whichever backend it runs on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Protocol

import fabric_gateway as fg
import grpc
from embedded_ledger import EmbeddedLedger, Identity
from embedded_ledger.ledger import CommitError, EndorsementError
from fabric_shim.contract import ContractChaincode
from seocho_coin.contract import SeochoCoinContract

from seocho.errors import CommitConflictError, ConnectionFailedError, SeochoError, rejected
from seocho.i18n import _
from seocho.profile import Profile, ProfileError

CHAINCODE_NAME = "seocho"
Clock = Callable[[], datetime]


class Backend(Protocol):
    """Submits and evaluates coin transactions as one identity."""

    def submit(self, function: str, args: Sequence[str]) -> bytes: ...

    def evaluate(self, function: str, args: Sequence[str]) -> bytes: ...


def open_embedded_ledger(path: str | Path | None, clock: Clock | None = None) -> EmbeddedLedger:
    """Open (or create) an embedded ledger at `path` (None: in memory) with the coin chaincode installed.

    `clock` (default: the wall clock) both stamps the proposals signed here and is the endorsing peer's
    clock the chaincode checks them against, so a story can run on its own dates (`seocho demo`).
    """
    ledger = EmbeddedLedger.open(path, clock=clock)
    contract = SeochoCoinContract() if clock is None else SeochoCoinContract(clock=clock)
    ledger.install(CHAINCODE_NAME, ContractChaincode(contract))
    return ledger


class EmbeddedBackend:
    """Runs the coin chaincode in-process on an `EmbeddedLedger`, signing as `identity`."""

    def __init__(
        self, ledger: EmbeddedLedger, identity: Identity, chaincode_name: str = CHAINCODE_NAME
    ) -> None:
        self.ledger = ledger
        self.identity = identity
        self.chaincode_name = chaincode_name

    def submit(self, function: str, args: Sequence[str]) -> bytes:
        try:
            response = self.ledger.submit(self.identity, self.chaincode_name, function, list(args))
        except EndorsementError as exc:
            raise rejected(exc.response.status, exc.response.message) from None
        except CommitError as exc:
            raise CommitConflictError(exc.tx_id, exc.code_name) from None
        return response.payload

    def evaluate(self, function: str, args: Sequence[str]) -> bytes:
        response = self.ledger.evaluate(self.identity, self.chaincode_name, function, list(args))
        if not response.ok:
            raise rejected(response.status, response.message)
        return response.payload


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


class GatewayBackend:
    """Submits through a Fabric peer's Gateway service, waiting for the commit.

    When the endorsing peers disagree, the proposal is sent again (a new transaction, nothing was
    submitted) up to three times, after the lagging peer has had time to catch up.
    """

    def __init__(self, contract: fg.Contract, *, retry_on_mvcc_conflict: int = 0) -> None:
        self.contract = contract
        self.retry_on_mvcc_conflict = retry_on_mvcc_conflict

    def submit(self, function: str, args: Sequence[str]) -> bytes:
        for pause in (*_DISAGREEMENT_BACKOFF_SECONDS, None):
            try:
                return self.contract.submit_transaction(
                    function, *args, retry_on_mvcc_conflict=self.retry_on_mvcc_conflict
                )
            except fg.CommitError as exc:
                raise CommitConflictError(exc.transaction_id, exc.code_name) from None
            except fg.EndorseError as exc:
                if pause is None or _ENDORSERS_DISAGREED not in exc.message:
                    raise self._error(exc) from None
                time.sleep(pause)
            except fg.GatewayError as exc:
                raise self._error(exc) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _error(self, error: fg.GatewayError) -> SeochoError:
        return _sdk_error(error, self.contract.channel_id, self.contract.chaincode_name)

    def evaluate(self, function: str, args: Sequence[str]) -> bytes:
        try:
            return self.contract.evaluate_transaction(function, *args)
        except fg.GatewayError as exc:
            raise self._error(exc) from None


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
        )
    except (OSError, ValueError) as exc:
        raise ConnectionFailedError(
            _("cannot connect to {address}: {reason}").format(address=endpoint.address, reason=exc)
        ) from None
    with gateway:
        yield gateway
