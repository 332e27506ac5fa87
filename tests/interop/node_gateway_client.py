"""Runs the official Node Gateway client (`node/client.mjs`) as one identity and returns its results.

Each `run` starts one Node process that connects, performs the given actions in order and prints one
result per action (see the header of `node/client.mjs` for the action and result shapes).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from embedded_ledger import Identity

NODE_PROJECT = Path(__file__).parent / "node"
CLIENT_SCRIPT = NODE_PROJECT / "client.mjs"


@dataclass(frozen=True)
class NodeIdentity:
    """An identity as files the Node client reads: certificate and 0600 private key, both PEM."""

    msp_id: str
    certificate_path: Path
    key_path: Path

    @classmethod
    def write(cls, identity: Identity, directory: Path) -> NodeIdentity:
        directory.mkdir(parents=True, exist_ok=True)
        certificate_path = directory / f"{identity.name}-cert.pem"
        certificate_path.write_text(identity.certificate_pem)
        key_path = directory / f"{identity.name}-key.pem"
        key_pem = identity._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(key_pem)
        return cls(identity.msp_id, certificate_path, key_path)


@dataclass(frozen=True)
class NodeGatewayClient:
    """Where the Node client connects: the gateway address, its TLS root, channel and chaincode."""

    address: str
    tls_root_cert_path: Path
    channel: str
    chaincode: str

    def run(
        self, identity: NodeIdentity, *actions: dict[str, Any], timeout: float = 30
    ) -> list[dict[str, Any]]:
        """The results of `actions`, performed in order by one Node process connected as `identity`."""
        request = {
            "address": self.address,
            "tlsRootCertPath": str(self.tls_root_cert_path),
            "mspId": identity.msp_id,
            "certPath": str(identity.certificate_path),
            "keyPath": str(identity.key_path),
            "channel": self.channel,
            "chaincode": self.chaincode,
            "actions": list(actions),
        }
        completed = subprocess.run(
            ["node", str(CLIENT_SCRIPT)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=NODE_PROJECT,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"the Node client exited with {completed.returncode}: {completed.stderr}")
        results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
        return results

    def run_one(self, identity: NodeIdentity, action: dict[str, Any]) -> dict[str, Any]:
        """The result of one action, which must have succeeded."""
        (result,) = self.run(identity, action)
        assert result["ok"], f"the Node client's {action['type']} failed: {result['error']}"
        return result
