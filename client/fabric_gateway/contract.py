"""A smart contract on a channel: evaluate and submit its transactions by name."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from fabric_protos.peer.transaction_pb2 import TxValidationCode

from fabric_gateway._client import GatewayClient
from fabric_gateway.commit import Commit, SubmittedTransaction
from fabric_gateway.errors import CommitError
from fabric_gateway.proposal import Argument, Proposal, build_proposal, new_proposed_transaction

logger = logging.getLogger(__name__)


class Contract:
    """The transactions of one contract of a chaincode.

    With `contract_name` set, transaction ``fn`` is sent as ``"contract_name:fn"`` (how contract
    APIs route to one of several contracts in a chaincode); otherwise as ``fn`` (the default contract).
    """

    def __init__(
        self, client: GatewayClient, channel_id: str, chaincode_name: str, contract_name: str | None = None
    ):
        self._client = client
        self.channel_id = channel_id
        self.chaincode_name = chaincode_name
        self.contract_name = contract_name

    def new_proposal(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, bytes] | None = None,
        endorsing_organizations: Iterable[str] = (),
    ) -> Proposal:
        """A proposal for `transaction_name(*args)`, signed now when the gateway has a signer.

        Without a signer it is unsigned: sign `digest()` offline and pass `bytes()` and the
        signature to `Network.new_signed_proposal`.
        """
        proposal, tx_id = build_proposal(
            self._client.creator(),
            self.channel_id,
            self.chaincode_name,
            self._qualified(transaction_name),
            args,
            transient,
        )
        created = Proposal(
            self._client, self.channel_id, new_proposed_transaction(proposal, tx_id, endorsing_organizations)
        )
        if self._client.signer is not None:
            created._sign_if_needed()
        return created

    def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, bytes] | None = None,
        endorsing_organizations: Iterable[str] = (),
    ) -> bytes:
        """Run a query on a peer and return its result; nothing is ordered or committed."""
        proposal = self.new_proposal(
            transaction_name, *args, transient=transient, endorsing_organizations=endorsing_organizations
        )
        return proposal.evaluate()

    def submit_async(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, bytes] | None = None,
        endorsing_organizations: Iterable[str] = (),
    ) -> SubmittedTransaction:
        """Endorse and submit; returns once the orderer accepted it, before it commits."""
        proposal = self.new_proposal(
            transaction_name, *args, transient=transient, endorsing_organizations=endorsing_organizations
        )
        transaction = proposal.endorse()
        commit = transaction.submit()
        return SubmittedTransaction.from_commit(commit, transaction.result)

    def submit_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, bytes] | None = None,
        endorsing_organizations: Iterable[str] = (),
        retry_on_mvcc_conflict: int = 0,
    ) -> bytes:
        """Endorse, submit and wait for the commit; returns the chaincode's result.

        Raises `CommitError` when the transaction is committed as invalid. With
        `retry_on_mvcc_conflict` = N, a transaction invalidated by MVCC_READ_CONFLICT (another
        transaction changed what it read) is run again from the start, with a new transaction id,
        up to N more times. Only do so for transactions that are correct to re-run.
        """
        if retry_on_mvcc_conflict < 0:
            raise ValueError("retry_on_mvcc_conflict must not be negative")
        attempt = 0
        while True:
            submitted = self.submit_async(
                transaction_name, *args, transient=transient, endorsing_organizations=endorsing_organizations
            )
            status = submitted.get_status()
            if status.successful:
                return submitted.result
            if status.code == TxValidationCode.MVCC_READ_CONFLICT and attempt < retry_on_mvcc_conflict:
                attempt += 1
                logger.info(
                    "transaction %s hit MVCC_READ_CONFLICT; retrying (%d of %d)",
                    status.transaction_id, attempt, retry_on_mvcc_conflict,
                )  # fmt: skip
                continue
            raise CommitError(status.transaction_id, status.code)

    def new_commit(self, transaction_id: str) -> Commit:
        """The commit of a transaction submitted earlier on this channel, perhaps by another process."""
        return Commit.for_transaction(self._client, self.channel_id, transaction_id)

    def _qualified(self, transaction_name: str) -> str:
        return f"{self.contract_name}:{transaction_name}" if self.contract_name else transaction_name
