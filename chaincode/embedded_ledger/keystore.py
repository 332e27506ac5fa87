"""Where the embedded ledger keeps private keys of its local CAs and identities.

On disk they are unencrypted PKCS#8 PEM files created with mode 0600 (like Fabric's `keystore`
directory) inside the ledger directory; an in-memory ledger keeps them in its database.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Protocol

from embedded_ledger.store import LedgerStore

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@-]")


class KeyStore(Protocol):
    def load(self, owner: str) -> bytes | None: ...

    def save(self, owner: str, pem: bytes) -> None: ...


class DirectoryKeyStore:
    """One `<owner>_sk` PEM file per key, mode 0600, in a 0700 directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir leaves an existing directory as it is; a keystore others can list or enter is not one.
        if stat.S_IMODE(directory.stat().st_mode) & 0o077:
            directory.chmod(0o700)

    def _path(self, owner: str) -> Path:
        # Owners are "msp/name"; escape anything that could leave the directory.
        return self._directory / (_SAFE_NAME.sub(lambda m: f"%{ord(m.group()):02x}", owner) + "_sk")

    def load(self, owner: str) -> bytes | None:
        path = self._path(owner)
        return path.read_bytes() if path.exists() else None

    def save(self, owner: str, pem: bytes) -> None:
        descriptor = os.open(self._path(owner), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())


class DatabaseKeyStore:
    """Keys of an in-memory ledger: they live and die with its database."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    def load(self, owner: str) -> bytes | None:
        return self._store.get_private_key(owner)

    def save(self, owner: str, pem: bytes) -> None:
        self._store.put_private_key(owner, pem)
