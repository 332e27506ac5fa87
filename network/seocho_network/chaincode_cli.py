"""The command line of the coin chaincode's lifecycle step by step (`chaincode`):

    chaincode approve NAME [--sequence N]  NAME installs the coin, serves it and approves its definition
    chaincode commit NAME [--sequence N]   NAME commits the definition a majority approved

`deploy` does every organisation's steps at once.
"""

from __future__ import annotations

import click

from .cli_options import Options, pass_options
from .context import NetworkError
from .network import Network
from .topology import Organization


@click.group("chaincode")
def chaincode_group() -> None:
    """The coin chaincode's lifecycle, step by step: each organisation approves, one commits."""


def _sequence(network: Network, sequence: int | None, org: Organization) -> int:
    from .deployment import next_sequence

    if sequence is not None:
        return sequence
    # Asked of `org`'s own peer, as its admin: no organisation's step uses another's admin.
    found = next_sequence(network, network.runtime.coin_service(), force_new_sequence=False, org=org)
    if found is None:
        raise NetworkError("the committed definition is this code already: give --sequence to commit again")
    return found


_sequence_option = click.option("--sequence", type=int, help="[default: the committed one + 1]")


@chaincode_group.command("approve")
@click.argument("name")
@_sequence_option
@pass_options
def chaincode_approve(options: Options, name: str, sequence: int | None) -> None:
    """NAME installs the coin on its peers, serves it, and approves its definition."""
    from . import deployment

    network = options.open()
    org, service = network.org(name), network.runtime.coin_service()
    number = _sequence(network, sequence, org)
    package_id = deployment.install(network, org, service)
    network.runtime.serve_chaincode(org, service, package_id)
    deployment.approve(network, org, service, package_id, number)


@chaincode_group.command("commit")
@click.argument("name")
@_sequence_option
@pass_options
def chaincode_commit(options: Options, name: str, sequence: int | None) -> None:
    """NAME commits the definition the organisations approved (a MAJORITY of them must have)."""
    from . import deployment

    network = options.open()
    org = network.org(name)
    deployment.commit(network, org, network.runtime.coin_service(), _sequence(network, sequence, org))
