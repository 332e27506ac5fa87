"""Checkpointers: remember how far an event listener got, so it resumes there after a restart.

A checkpoint is the next block to read plus, within it, the last transaction already processed.
`FileCheckpointer` keeps it in a small JSON file replaced atomically, so a crash leaves either the
old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from fabric_gateway.events import ChaincodeEvent


@runtime_checkable
class Checkpoint(Protocol):
    """Where to resume: `block_number` None means nothing was checkpointed yet."""

    @property
    def block_number(self) -> int | None: ...

    @property
    def transaction_id(self) -> str: ...


class InMemoryCheckpointer:
    """A checkpoint kept in memory (for one process's lifetime)."""

    def __init__(self) -> None:
        self._block_number: int | None = None
        self._transaction_id = ""

    @property
    def block_number(self) -> int | None:
        return self._block_number

    @property
    def transaction_id(self) -> str:
        return self._transaction_id

    def checkpoint_block(self, block_number: int) -> None:
        """Block `block_number` is fully processed: resume at the next one."""
        self._set(block_number + 1, "")

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        """Transaction `transaction_id` of block `block_number` is processed: resume after it."""
        self._set(block_number, transaction_id)

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        """`event` is processed: resume after its transaction."""
        self.checkpoint_transaction(event.block_number, event.transaction_id)

    def _set(self, block_number: int, transaction_id: str) -> None:
        self._block_number = block_number
        self._transaction_id = transaction_id


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpoint persisted as JSON ``{"blockNumber": n, "transactionId": "..."}`` at `path`.

    The file is read when the checkpointer is created and rewritten at every checkpoint.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            number = saved.get("blockNumber")
            self._block_number = None if number is None else int(number)
            self._transaction_id = str(saved.get("transactionId", ""))

    def _set(self, block_number: int, transaction_id: str) -> None:
        document = json.dumps({"blockNumber": block_number, "transactionId": transaction_id})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(document)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        super()._set(block_number, transaction_id)
