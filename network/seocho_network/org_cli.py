"""The command line of one organisation's own steps (`org`), each run by that organisation with its home:

    org init|up|down NAME                  its CA and identities; its nodes up; its nodes down
    org definition NAME [--out DIR]        its public definition, to hand to the other organisations
    org retire-registrar NAME              its CAs' bootstrap registrars replaced and revoked

The one-machine `up` does every organisation's steps at once.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_options import Options, pass_options, timed


@click.group()
def org() -> None:
    """One organisation's own steps (each run by that organisation, with its own home)."""


@org.command("init")
@click.argument("name")
@pass_options
def org_init(options: Options, name: str) -> None:
    """NAME's home, its CA and the identities of its nodes and admins (no demo cast)."""
    network = options.open()
    timed(f"org init {name}", lambda: network.org_init(network.org(name)))


@org.command("up")
@click.argument("name")
@pass_options
def org_up(options: Options, name: str) -> None:
    """`org init`, then NAME's orderers and peers (and its chaincode servers, if it served before)."""
    network = options.open()
    timed(f"org up {name}", lambda: network.org_up(network.org(name)))


@org.command("down")
@click.argument("name")
@pass_options
def org_down(options: Options, name: str) -> None:
    """Stop NAME's nodes and chaincode servers; its files stay."""
    network = options.open()
    network.org_down(network.org(name))


@org.command("definition")
@click.argument("name")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also copy it here, to hand over (e.g. to the other organisations' hosts).",
)
@pass_options
def org_definition(options: Options, name: str, out: Path | None) -> None:
    """Write NAME's public definition (MSP roots, NodeOUs, anchor peers, orderers' TLS certificates)."""
    network = options.open()
    member = network.org(name)
    network.org_definition(member)
    if out is not None:
        network.org_definition(member, out)


@org.command("retire-registrar")
@click.argument("name")
@pass_options
def org_retire_registrar(options: Options, name: str) -> None:
    """After set-up: replace NAME's CAs' bootstrap registrars by narrower successors and revoke them."""
    from .registrars import retire_organization

    network = options.open()
    for line in retire_organization(network, network.org(name)):
        click.echo(line)
