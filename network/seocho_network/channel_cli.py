"""The command line of the channel's steps (`channel`):

    channel create                         the genesis block, from every organisation's definition
    channel join NAME                      NAME's orderers and peers join
    channel sign|submit UPDATE --org NAME  a config update, signed by each organisation in turn, then sent

Joining and leaving the running channel (`add-org`, `join-running`, ...) are membership_cli.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from .cli_options import Options, pass_options

_update_argument = click.argument(
    "update", type=click.Path(dir_okay=False, exists=True, path_type=Path)
)  # a config update file (channel/updates/<name>.pb), signed in turn, then submitted


def _org_option(role: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--org", "name", required=True, help=f"The organisation whose admin {role}.")


@click.group("channel")
def channel_group() -> None:
    """The channel's steps; a config update is a file that organisations sign in turn, then one submits."""


@channel_group.command("create")
@pass_options
def channel_create(options: Options) -> None:
    """The channel's genesis block, from every organisation's definition."""
    options.open().channel_create()


@channel_group.command("join")
@click.argument("name")
@pass_options
def channel_join(options: Options, name: str) -> None:
    """NAME's orderers and peers join the channel (each as NAME's admin)."""
    network = options.open()
    network.channel_join(network.org(name))


@channel_group.command("sign")
@_update_argument
@_org_option("signs")
@pass_options
def channel_sign(options: Options, update: Path, name: str) -> None:
    """Add ORG's admin signature to the config UPDATE file (nothing is sent)."""
    from . import config_updates

    network = options.open()
    config_updates.sign(network, network.org(name), update)


@channel_group.command("submit")
@_update_argument
@_org_option("submits (and signs)")
@pass_options
def channel_submit(options: Options, update: Path, name: str) -> None:
    """Send the config UPDATE to the ordering service; it is refused unless enough admins signed."""
    from . import config_updates

    network = options.open()
    config_updates.submit(network, network.org(name), update)
