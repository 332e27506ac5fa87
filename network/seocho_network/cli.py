"""`python -m seocho_network` (what scripts/network.sh runs): up, deploy, upgrade, down, status, logs."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from .binaries import CommandError, MissingBinariesError
from .compose_cli import docker as docker_cli
from .monitoring_cli import monitoring as monitoring_cli
from .network import Network, NetworkError
from .topology import TopologyError

_FAILURES = (NetworkError, CommandError, MissingBinariesError, TopologyError, RuntimeError, OSError)


def _open(ctx: click.Context) -> Network:
    home, topology = ctx.obj
    return Network.open(home, topology, say=lambda line: click.echo(line))


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SEOCHO_NETWORK_HOME",
    help="Where the network keeps its files [default: $SEOCHO_HOME/network].",
)
@click.option(
    "--topology",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The topology file [default: network/topology.yaml].",
)
@click.pass_context
def cli(ctx: click.Context, home: Path | None, topology: Path | None) -> None:
    """Run the Seocho Coin Fabric network on this machine: CAs, 3 Raft orderers, a peer per organisation."""
    ctx.obj = (home, topology)


@cli.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start (or resume) every node, create and join the channel, write the client profile."""
    began = time.monotonic()
    _open(ctx).up()
    click.echo(f"up: took {time.monotonic() - began:.0f} s")


@cli.command()
@click.pass_context
def deploy(ctx: click.Context) -> None:
    """Install, approve and commit the coin chaincode (a new sequence when its code changed); serve it."""
    began = time.monotonic()
    _open(ctx).deploy()
    click.echo(f"deploy: took {time.monotonic() - began:.0f} s")


@cli.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Commit the chaincode again with sequence + 1, keeping the ledger's state."""
    _open(ctx).deploy(force_new_sequence=True)


@cli.command()
@click.option("--purge", is_flag=True, help="Also delete the ledgers, identities and channel.")
@click.pass_context
def down(ctx: click.Context, purge: bool) -> None:
    """Stop every node by PID; the data stays (for `up` to resume) unless --purge."""
    _open(ctx).down(purge=purge)


@cli.command()
@click.argument("name")
@click.option("--org", "msp_id", required=True, help="The identity's MSP id, e.g. PartnersMSP.")
@click.option(
    "--reason", default="unspecified", show_default=True, help="An RFC 5280 reason, e.g. keycompromise."
)
@click.pass_context
def revoke(ctx: click.Context, name: str, msp_id: str, reason: str) -> None:
    """Revoke NAME at its organisation's CA and put the CA's CRL into the channel's MSP definition."""
    from .revocation import revoke as revoke_identity

    click.echo(revoke_identity(_open(ctx), msp_id, name, reason))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Every node (up/down), heights, the Raft leader and the committed chaincode; exit 3 if one is down."""
    from .status import collect, render

    report = collect(_open(ctx))
    click.echo(json.dumps(asdict(report), indent=2) if as_json else render(report))
    if not report.all_up:
        sys.exit(3)


@cli.command()
@click.argument("node")
@click.option("-n", "--lines", default=50, show_default=True, help="How many of the last lines.")
@click.pass_context
def logs(ctx: click.Context, node: str, lines: int) -> None:
    """The last lines of NODE's log (a node id, e.g. peer0.partners.seocho.local, or its start)."""
    network = _open(ctx)
    names = list(network.pid_files())
    matches = [n for n in names if n == node] or [n for n in names if n.startswith(node)]
    if len(matches) != 1:
        raise click.UsageError(f"NODE must name one of: {', '.join(names)}")
    path = network.log_file(matches[0])
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise click.ClickException(f"no log for {matches[0]} at {path}: {exc.strerror}") from None
    click.echo("\n".join(text.splitlines()[-lines:]))


# The Docker Compose deployment of the same topology: `docker up|deploy|upgrade|down|status|logs`.
cli.add_command(docker_cli)
cli.add_command(monitoring_cli)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except _FAILURES as exc:
        click.echo(f"network: error: {exc}", err=True)
        sys.exit(1)
