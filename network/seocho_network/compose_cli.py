"""`python -m seocho_network docker ...` (`scripts/network.sh docker ...`): the network in Docker Compose."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from .compose import DockerNetwork


def _open(ctx: click.Context) -> DockerNetwork:
    home, topology = ctx.obj
    return DockerNetwork(home, topology, say=lambda line: click.echo(line))


@click.group("docker")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SEOCHO_DOCKER_HOME",
    help="The deployment directory: compose.yaml, node configs, identities [default: $SEOCHO_HOME/docker].",
)
@click.pass_context
def docker(ctx: click.Context, home: Path | None) -> None:
    """The same network in Docker Compose (images: FABRIC_PEER_IMAGE, FABRIC_ORDERER_IMAGE, FABRIC_CA_IMAGE,
    SEOCHO_CHAINCODE_IMAGE; official ones by default)."""
    # The parent group's object is (native home, topology file); the topology is shared, the home is not.
    topology = ctx.obj[1] if ctx.obj else None
    ctx.obj = (home, topology)


@docker.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Render compose.yaml and the node configs, start every container, create and join the channel."""
    began = time.monotonic()
    _open(ctx).up()
    click.echo(f"docker up: took {time.monotonic() - began:.0f} s")


@docker.command()
@click.pass_context
def render(ctx: click.Context) -> None:
    """Print the compose file for the topology (what `up` writes; network/docker/compose.yaml is this)."""
    from .compose_render import compose_text
    from .topology import load_topology

    click.echo(compose_text(load_topology(ctx.obj[1])), nl=False)


@docker.command()
@click.pass_context
def deploy(ctx: click.Context) -> None:
    """Install, approve and commit the chaincode image's code (a new sequence when the image changed)."""
    began = time.monotonic()
    _open(ctx).deploy()
    click.echo(f"docker deploy: took {time.monotonic() - began:.0f} s")


@docker.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Commit the chaincode again with sequence + 1, keeping the ledger's state."""
    _open(ctx).deploy(force_new_sequence=True)


@docker.command("renew-tls")
@click.argument("node")
@click.pass_context
def renew_tls(ctx: click.Context, node: str) -> None:
    """Renew NODE's TLS certificate from its organisation's CA and restart it (orderers keep their key)."""
    _open(ctx).renew_tls(node)


@docker.command()
@click.option("--purge", is_flag=True, help="Also delete the volumes (ledgers, CA databases), the directory.")
@click.pass_context
def down(ctx: click.Context, purge: bool) -> None:
    """Remove the containers; the named volumes stay (for `up` to resume) unless --purge."""
    _open(ctx).down(purge=purge)


@docker.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Each container (up/down), heights, the Raft leader, the committed chaincode; exit 3 if one is down."""
    from .status import render

    report = _open(ctx).status()
    click.echo(json.dumps(asdict(report), indent=2) if as_json else render(report))
    if not report.all_up:
        sys.exit(3)


@docker.command()
@click.argument("service")
@click.option("-n", "--lines", default=50, show_default=True, help="How many of the last lines.")
@click.pass_context
def logs(ctx: click.Context, service: str, lines: int) -> None:
    """The last lines of SERVICE's log (a node id, e.g. peer0.partners.seocho.local)."""
    click.echo(_open(ctx).logs(service, lines))
