"""`network.sh docker service up|down`: the HTTP service's container in the district's project."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_options import Options, pass_options, timed


@click.group("service")
def service() -> None:
    """The HTTP service (`seocho serve`) as a container of the district's project, behind its certificate."""


@service.command("up")
@click.option(
    "--staff",
    multiple=True,
    help="A staff identity of the deployment's profile that the district's terminals sign as; repeatable.",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The district's HTTPS certificate (PEM, full chain) [default: one from the district's TLS CA].",
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Its private key (PEM)."
)
@click.option("--cors-origin", "origins", multiple=True, help="The app's origin (https://...); repeatable.")
@pass_options
def up(
    options: Options,
    staff: tuple[str, ...],
    tls_cert: Path | None,
    tls_key: Path | None,
    origins: tuple[str, ...],
) -> None:
    """Issue its identity, write what it mounts, (re)create it and wait until it is healthy."""
    from .http_service import service_up

    timed("service up", lambda: service_up(options.open(), staff, tls_cert, tls_key, origins))


@service.command("down")
@pass_options
def down(options: Options) -> None:
    """Stop and remove its container (its state volume stays)."""
    from .http_service import service_down

    service_down(options.open())
