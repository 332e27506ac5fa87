"""Helpers shared by the `docker` tests and their fixtures (imported by name: tests/ has no packages)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_SCRIPT = REPO_ROOT / "scripts" / "docker-images.sh"
DOCKERD_SCRIPT = REPO_ROOT / "scripts" / "lib" / "dockerd.sh"


def unavailable(reason: str) -> None:
    """Skip with the reason (under CI=true the hook in tests/ci_skips.py makes it a failure)."""
    pytest.skip(reason)


def engine_answers() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run([docker, "info"], capture_output=True).returncode == 0


@dataclass(frozen=True)
class DockerImages:
    """The local image tags, as the compose variables that select them (FABRIC_PEER_IMAGE=...)."""

    env: dict[str, str]

    @property
    def peer(self) -> str:
        return self.env["FABRIC_PEER_IMAGE"]

    @property
    def chaincode(self) -> str:
        return self.env["SEOCHO_CHAINCODE_IMAGE"]


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; on failure the error shows its output."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result
