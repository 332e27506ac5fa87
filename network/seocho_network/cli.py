"""`python -m seocho_network` (what scripts/network.sh runs): one command line for both runtimes.

    up [--no-demo] | deploy | upgrade | down [--purge] | status [--json] | logs NODE | revoke NAME
    up|deploy --run-as ORG=USER ...       each organisation's steps as its own Unix account (root)
    status --html [FILE]                 the one-page operations view (status_html.py)
    backup NODE [--to DIR] | restore NODE --from DIR | stop NODE | start NODE    a peer's ledger
    org init|up|down|definition|retire-registrar ORG   one organisation's own steps, run by it
    channel create | channel join ORG    the channel's steps
    --runtime docker ...                 the same in Docker Compose; `docker ...` is an alias for it

The demo's cast and the coin ledger's first policy are the client's steps (`seocho network ...`): the
one-machine `up` and `deploy` run them after the network's own steps, `org up` never does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .accounts_cli import account_steps, run_as_option
from .backup_cli import commands as backup_commands
from .binaries import CommandError, MissingBinariesError
from .chaincode_cli import chaincode_group
from .channel_cli import channel_group
from .cli_options import Options, home_from_environment, pass_options, timed
from .http_service_cli import service as http_service_cli
from .membership_cli import register as register_membership
from .monitoring_cli import monitoring as monitoring_cli
from .network import RUNTIMES, Network, NetworkError
from .org_cli import org
from .snapshots_cli import register as register_snapshots
from .topology import TopologyError
from .upgrade_cli import register as register_upgrade

_FAILURES = (NetworkError, CommandError, MissingBinariesError, TopologyError, RuntimeError, OSError)


def _client_step(network: Network, *args: str) -> None:
    """Runs a `seocho network ...` step (the client's, not the network's) on this network's home."""
    seocho = Path(sys.executable).with_name("seocho")
    finished = subprocess.run([str(seocho), "network", *args, str(network.layout.root)], check=False)
    if finished.returncode != 0:
        raise NetworkError(f"seocho network {' '.join(args)} failed (exit {finished.returncode})")


_home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the network keeps its files [default: $SEOCHO_NETWORK_HOME, or $SEOCHO_HOME/network; "
    "docker: $SEOCHO_DOCKER_HOME, or $SEOCHO_HOME/docker].",
)


@click.group()
@_home_option
@click.option(
    "--topology",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The topology file [default: network/topology.yaml].",
)
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    envvar="SEOCHO_NETWORK_RUNTIME",
    default="native",
    show_default=True,
    help="Native processes on 127.0.0.1, or Docker Compose (images: FABRIC_PEER_IMAGE, FABRIC_ORDERER_IMAGE, "
    "FABRIC_CA_IMAGE, SEOCHO_CHAINCODE_IMAGE; nodes on 3.1.5: FABRIC_PEER_IMAGE_3_1_5, "
    "FABRIC_ORDERER_IMAGE_3_1_5).",
)
@click.option(
    "--join",
    "joined",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A topology fragment of an organisation that joins the running channel "
    "(e.g. network/orgs/community-chest.yaml); repeatable.",
)
@click.pass_context
def cli(
    ctx: click.Context, home: Path | None, topology: Path | None, runtime: str, joined: tuple[Path, ...]
) -> None:
    """Run the Seocho Coin Fabric network: CAs, Raft orderers and a peer per organisation."""
    ctx.obj = Options(home or home_from_environment(runtime), topology, runtime, joined)


# ---- the one-machine commands ----------------------------------------------------------------------


@click.command()
@run_as_option
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Then provision the demo's cast (`seocho network provision-demo`): for trying it, never for real.",
)
@pass_options
def up(options: Options, demo: bool, run_as: tuple[str, ...]) -> None:
    """Every organisation's steps on this machine: nodes up, channel created and joined, profiles written."""

    def steps() -> None:
        network = options.open()
        if run_as:
            accounts = account_steps(options, network, run_as)
            accounts.prepare()
            accounts.up()
        else:
            network.up()
        if demo:
            network.say("up: the demo's cast (seocho network provision-demo)")
            _client_step(network, "provision-demo")

    timed("up", steps)


@click.command()
@run_as_option
@pass_options
def deploy(options: Options, run_as: tuple[str, ...]) -> None:
    """Install, approve and commit the coin chaincode (a new sequence when its code changed); serve it."""

    def steps() -> None:
        network = options.open()
        if run_as:
            account_steps(options, network, run_as).deploy()
        else:
            network.deploy()
        _client_step(network, "init-ledger")

    timed("deploy", steps)


@click.command()
@pass_options
def upgrade(options: Options) -> None:
    """Commit the chaincode again with sequence + 1, keeping the ledger's state."""
    options.open().deploy(force_new_sequence=True)


@click.command()
@click.option("--purge", is_flag=True, help="Also delete the ledgers, identities and channel (and volumes).")
@pass_options
def down(options: Options, purge: bool) -> None:
    """Stop every node; the data stays (for `up` to resume) unless --purge."""
    options.open().down(purge=purge)


@click.command()
@click.argument("name")
@click.option("--org", "msp_id", required=True, help="The identity's MSP id, e.g. PartnersMSP.")
@click.option(
    "--reason", default="unspecified", show_default=True, help="An RFC 5280 reason, e.g. keycompromise."
)
@pass_options
def revoke(options: Options, name: str, msp_id: str, reason: str) -> None:
    """Revoke NAME at its organisation's CA and put the CA's CRL into the channel's MSP definition."""
    from .revocation import revoke as revoke_identity

    click.echo(revoke_identity(options.open(), msp_id, name, reason))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
@click.option(
    "--html",
    "html_file",
    is_flag=False,
    flag_value="",
    type=click.Path(dir_okay=False),
    help="Also write the one-page operations view to FILE [default: <home>/status.html].",
)
@click.option("--lang", type=click.Choice(["ko", "en"]), help="The page's language [default: the locale's].")
@pass_options
def status(options: Options, as_json: bool, html_file: str | None, lang: str | None) -> None:
    """Every node (up/down), heights, the Raft leader and the committed chaincode; exit 3 if one is down."""
    from .status import collect, render

    network = options.open()
    report = collect(network)
    click.echo(json.dumps(asdict(report), indent=2) if as_json else render(report))
    if html_file is not None:
        from .status_html import write_page

        page = write_page(report, html_file or network.layout.root / "status.html", lang)
        click.echo(f"status: the operations view is in {page}", err=as_json)  # stdout stays one JSON document
    if not report.all_up:
        sys.exit(3)


@click.command()
@click.argument("node")
@click.option("-n", "--lines", default=50, show_default=True, help="How many of the last lines.")
@pass_options
def logs(options: Options, node: str, lines: int) -> None:
    """The last lines of NODE's log (a node id, e.g. peer0.partners.seocho.local, or its start)."""
    try:
        click.echo(options.open().logs(node, lines))
    except NetworkError as exc:
        raise click.UsageError(str(exc)) from None


@click.command("renew-tls")
@click.argument("node")
@pass_options
def renew_tls(options: Options, node: str) -> None:
    """Renew NODE's TLS certificate from its CA and restart it (Docker; orderers keep their key)."""
    from .compose import DockerRuntime

    runtime = options.open().runtime
    if not isinstance(runtime, DockerRuntime):
        raise click.UsageError(
            "renew-tls is for the Docker runtime: --runtime docker (or `docker renew-tls`)"
        )
    runtime.renew_tls(node)


@click.command()
@click.option("--org", "name", help="That organisation's project (what the Docker runtime writes for it).")
@click.option(
    "--exchange-address",
    help="Where --org's project publishes the ports between organisations "
    "[default: $SEOCHO_DOCKER_EXCHANGE_ADDRESS, else Docker's default bridge, 172.17.0.1].",
)
@pass_options
def render(options: Options, name: str | None, exchange_address: str | None) -> None:
    """Print a compose file of the topology: --org's project, or the one project of every organisation
    (SEOCHO_DOCKER_PROJECTS=single)."""
    from .compose import DEFAULT_EXCHANGE_ADDRESS, EXCHANGE_VARIABLE
    from .compose_render import compose_text
    from .topology import load_topology

    topology = load_topology(options.topology)
    if name is None:
        click.echo(compose_text(topology), nl=False)
        return
    orgs = [org for org in topology.organizations if name in (org.name, org.msp_id, org.domain)]
    if not orgs:
        raise click.BadParameter(f"no organisation {name!r} in the topology", param_hint="--org")
    address = exchange_address or os.environ.get(EXCHANGE_VARIABLE) or DEFAULT_EXCHANGE_ADDRESS
    click.echo(compose_text(topology, None, orgs[0], address), nl=False)


register_membership(org, channel_group, pass_options)

COMMANDS: tuple[click.Command, ...] = (
    up, deploy, upgrade, down, revoke, status, logs, renew_tls, render, org, channel_group, chaincode_group
)  # fmt: skip
# One node's ledger: `backup`, `restore`, `stop`, `start` (backup_cli.py).
COMMANDS += tuple(backup_commands(pass_options))
for _command in COMMANDS:
    cli.add_command(_command)

# The rolling Fabric upgrade: `upgrade-fabric --to VERSION` (native processes; in Docker, containers).
register_upgrade(cli, pass_options)


@cli.group("docker")
@_home_option
@click.pass_context
def docker(ctx: click.Context, home: Path | None) -> None:
    """The same commands with the Docker runtime (an alias of `--runtime docker`)."""
    parent: Options = ctx.obj
    ctx.obj = Options(home or home_from_environment("docker"), parent.topology, "docker", parent.joined)


for _command in COMMANDS:
    docker.add_command(_command)
# In Docker the same upgrade recreates one container at a time on its new image (docker_upgrade.py).
register_upgrade(docker, pass_options)


# ---- certificate renewal (renewal.py) --------------------------------------------------------------


@click.command()
@click.option(
    "--within", default="30d", show_default=True, help="Renew what expires within this: 30d, 12h, 90m, 45s."
)
@click.option("--dry-run", is_flag=True, help="Only list what is due and what renewing it takes.")
@pass_options
def renew(options: Options, within: str, dry_run: bool) -> None:
    """Renew every TLS and enrolment certificate expiring within the window, one node at a time."""
    from .renewal import parse_window
    from .renewal import renew as renew_due

    try:
        window = parse_window(within)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--within") from None

    def renew_everything_due() -> None:
        network = options.open()
        plan = renew_due(network, window, dry_run)
        if not dry_run and network.runtime_name == "docker":
            from .http_service import refresh_after_renewal

            # The HTTP service's folder is renewed with the rest; its container holds copies of it.
            refresh_after_renewal(network, plan.identities)

    timed("renew", renew_everything_due)


cli.add_command(renew)
docker.add_command(renew)

# Prometheus for the network: `monitoring up|status|down` (the containers' ports are published on loopback,
# so the same scrape configuration serves both runtimes).
cli.add_command(monitoring_cli)
docker.add_command(monitoring_cli)

# The HTTP service's container in the district's project: `docker service up|down` (http_service.py).
docker.add_command(http_service_cli)

# Ledger snapshots: `peer snapshot`, `peer snapshots` (snapshots_cli).
register_snapshots(cli, pass_options)


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
