"""What every `python -m seocho_network` command module shares: the group's options and a timed step."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .network import Network


@dataclass(frozen=True)
class Options:
    home: Path | None
    topology: Path | None
    runtime: str
    joined: tuple[Path, ...] = ()

    def open(self) -> Network:
        return Network.open(
            self.home, self.topology, say=lambda line: click.echo(line), runtime=self.runtime,
            joined=self.joined,
        )  # fmt: skip


pass_options = click.make_pass_decorator(Options)


def timed(what: str, step: Callable[[], Any]) -> None:
    began = time.monotonic()
    step()
    click.echo(f"{what}: took {time.monotonic() - began:.0f} s")


def home_from_environment(runtime: str) -> Path | None:
    value = os.environ.get("SEOCHO_DOCKER_HOME" if runtime == "docker" else "SEOCHO_NETWORK_HOME")
    return Path(value) if value else None
