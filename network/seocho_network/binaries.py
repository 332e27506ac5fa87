"""The Fabric programs the network runs, from the versioned cache that scripts/build-fabric.sh fills."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = _REPO_ROOT / "network" / "versions.env"


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """The pins of network/versions.env (the file the scripts source too), as KEY -> value."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.isidentifier():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        pins[key] = value.strip().strip('"')
    return pins


_PINS = read_versions()
FABRIC_VERSION = _PINS["FABRIC_VERSION"]
FABRIC_VERSIONS = tuple(_PINS["FABRIC_VERSIONS"].split())
FABRIC_CA_VERSION = _PINS["FABRIC_CA_VERSION"]


class MissingBinariesError(RuntimeError):
    """The Fabric or Fabric CA programs are not installed."""


class CommandError(RuntimeError):
    """A Fabric command-line tool failed; the message quotes what it printed."""


def cache_root() -> Path:
    return Path(os.environ.get("SEOCHO_FABRIC_CACHE") or os.path.expanduser("~/.cache/seocho-fabric"))


@dataclass(frozen=True)
class FabricBinaries:
    """Paths of the Fabric release (bin/, config/, builders/ccaas) and of the Fabric CA build."""

    release: Path
    ca_bin: Path

    def tool(self, name: str) -> Path:
        return self.release / "bin" / name

    @property
    def sample_config(self) -> Path:
        return self.release / "config"

    @property
    def ccaas_builder(self) -> Path:
        return self.release / "builders" / "ccaas"

    @property
    def ca_server(self) -> Path:
        return self.ca_bin / "fabric-ca-server"


def find_binaries(version: str | None = None) -> FabricBinaries:
    """The installed binaries of Fabric `version` (default: FABRIC_VERSION), or one error that says how
    to install them."""
    version = version or FABRIC_VERSION
    if version not in FABRIC_VERSIONS:
        raise MissingBinariesError(
            f"Fabric {version} is not a release the project pins (network/versions.env: "
            f"{', '.join(FABRIC_VERSIONS)})"
        )
    root = cache_root()
    found = FabricBinaries(root / f"fabric-{version}", root / f"ca-{FABRIC_CA_VERSION}" / "bin")
    needed = [found.tool(n) for n in ("peer", "orderer", "configtxgen", "osnadmin")]
    needed += [found.ccaas_builder / "bin" / "release", found.ca_server]
    missing = [str(path) for path in needed if not os.access(path, os.X_OK)]
    if missing:
        raise MissingBinariesError(
            f"Fabric {version} / Fabric CA {FABRIC_CA_VERSION} are not installed ({missing[0]} is "
            f"missing): run {_REPO_ROOT / 'scripts' / 'build-fabric.sh'} (set FABRIC_RELEASE to an official "
            "Fabric release archive when ../shared/fabric is not there)"
        )
    return found


def run_tool(
    command: Sequence[str | os.PathLike[str]],
    environment: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    what: str | None = None,
) -> str:
    """Runs a Fabric tool and returns its standard output; a failure raises CommandError quoting it."""
    argv = [str(part) for part in command]
    try:
        finished = subprocess.run(
            argv,
            env=dict(environment) if environment is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"{what or Path(argv[0]).name}: no answer within {timeout:.0f} s") from None
    output = (finished.stdout + finished.stderr).strip()
    if finished.returncode != 0:
        quoted = "\n".join("    | " + line for line in output.splitlines()[-12:])
        raise CommandError(f"{what or ' '.join(argv[:3])} failed (exit {finished.returncode}):\n{quoted}")
    return finished.stdout
