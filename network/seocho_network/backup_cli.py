"""The command line of one node's ledger (`backup`), for both runtimes:

    backup NODE [--to DIR]     stop peer NODE, copy its ledger into DIR (new or empty), start it again
    restore NODE --from DIR    peer NODE (stopped) gets the ledger of the backup in DIR
    stop NODE | start NODE     one peer or orderer (`up` starts every node that is down)

`network.sh docker backup NODE` and the others do the same in the Docker deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def commands(pass_options: Callable[..., Any]) -> list[click.Command]:
    from . import backup as backups

    node_argument = click.argument("node")

    @click.command()
    @node_argument
    @click.option(
        "--to",
        "to",
        type=click.Path(path_type=Path),
        help="A new or empty directory [default: <home>/backups/NODE/<UTC time>].",
    )
    @pass_options
    def backup(options: Any, node: str, to: Path | None) -> None:
        """Copy peer NODE's ledger (it is stopped for the copy) into a 0700 directory."""
        target, _manifest = backups.backup(options.open(), node, to)
        click.echo(str(target))

    @click.command()
    @node_argument
    @click.option(
        "--from",
        "source",
        required=True,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="The directory `backup` wrote.",
    )
    @pass_options
    def restore(options: Any, node: str, source: Path) -> None:
        """Replace the stopped NODE's ledger by its backup in DIR; then `start NODE` catches it up."""
        backups.restore(options.open(), node, source)

    @click.command()
    @node_argument
    @pass_options
    def stop(options: Any, node: str) -> None:
        """Stop one peer or orderer; its data stays."""
        backups.stop_node(options.open(), node)

    @click.command()
    @node_argument
    @pass_options
    def start(options: Any, node: str) -> None:
        """Start one peer or orderer and wait until it is healthy."""
        backups.start_node(options.open(), node)

    return [backup, restore, stop, start]
