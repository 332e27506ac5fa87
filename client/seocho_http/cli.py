"""`seocho serve`: run the HTTP service; `seocho serve terminals add|revoke|list`: the terminals."""

from __future__ import annotations

import copy
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import click
from seocho.backend import open_embedded_ledger
from seocho.cli import Settings, cli
from seocho.cli_base import option
from seocho.errors import SeochoError
from seocho.i18n import N_, _

from seocho_http.config import ServiceConfig
from seocho_http.enrolment_relay import InsecureCAError
from seocho_http.store import SCOPES, ServiceStore


def default_state_dir() -> Path:
    return Path(os.environ.get("SEOCHO_HOME", Path.home() / ".seocho")) / "http"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@cli.group("serve", invoke_without_command=True)
@option("--host", default="127.0.0.1", show_default=True, help=N_("Address to listen on."))
@option("--port", type=int, default=8443, show_default=True, help=N_("Port to listen on."))
@option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help=N_("HTTPS certificate (PEM)."))
@option("--tls-key", type=click.Path(exists=True, dir_okay=False), help=N_("HTTPS private key (PEM)."))
@option(
    "--cors-origin",
    multiple=True,
    envvar="SEOCHO_SERVE_CORS_ORIGINS",  # space-separated (a container's compose file sets it)
    help=N_("An origin allowed to call the API from a browser."),
)
@option(
    "--state",
    type=click.Path(path_type=Path),
    help=N_("Service state directory [default: $SEOCHO_HOME/http]."),
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    cors_origin: tuple[str, ...],
    state: Path | None,
) -> None:
    """Serve the coin over HTTPS (plain HTTP on 127.0.0.1 only)."""
    ctx.obj.http_state = state or default_state_dir()
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from seocho_http.app import create_app
    from seocho_http.upstream import EmbeddedUpstream, GatewayUpstream, Upstream

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError(_("give both --tls-cert and --tls-key"))
    if tls_cert is None and not _loopback(host):
        raise click.UsageError(_("plain HTTP is for 127.0.0.1 only: give --tls-cert and --tls-key"))
    settings: Settings = ctx.obj
    upstream: Upstream
    if settings.profile is not None:
        try:  # enrolments are relayed to the CA the profile (or its network home) names
            upstream = GatewayUpstream(settings.profile, settings.signer_name())
        except InsecureCAError as exc:
            raise click.UsageError(
                _("the CA of {msp_id} must be https (it receives secrets): give its https URL").format(
                    msp_id=exc.msp_id
                )
            ) from None
        except ValueError as exc:
            raise SeochoError(str(exc)) from None
    else:
        upstream = EmbeddedUpstream(open_embedded_ledger(settings.ledger_dir))
    config = ServiceConfig(state_dir=ctx.obj.http_state, cors_origins=cors_origin)
    app = create_app(upstream, config)
    # No access log from uvicorn: it would log client addresses; the service logs route templates only,
    # and those reach the operator (a container's log) only with a handler for the service's loggers.
    uvicorn.run(
        app, host=host, port=port, ssl_certfile=tls_cert, ssl_keyfile=tls_key, access_log=False,
        log_config=_log_config(),
    )  # fmt: skip


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging, plus the service's loggers (seocho_http.*: route templates, never bodies)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["seocho_http"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@serve.group()
def terminals() -> None:
    """Terminals and kiosks: API keys bound to one staff identity and scopes."""


def _store(ctx: click.Context) -> ServiceStore:
    return ServiceStore(ctx.obj.http_state / "http.sqlite")


@terminals.command("add")
@click.argument("terminal_id")
@option("--institution", required=True, help=N_("The institution the terminal acts for."))
@option("--identity", "identity_name", required=True, help=N_("The staff identity it signs as."))
@option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES), help=N_("A scope."))
@click.pass_context
def add(
    ctx: click.Context, terminal_id: str, institution: str, identity_name: str, scopes: tuple[str]
) -> None:
    """Issue a terminal's API key (printed once; only its hash is kept)."""
    store = _store(ctx)
    try:
        key = store.add_terminal(terminal_id, institution, identity_name, list(scopes))
    except ValueError as exc:
        raise SeochoError(str(exc)) from None
    finally:
        store.close()
    click.echo(key)


@terminals.command("revoke")
@click.argument("terminal_id")
@click.pass_context
def revoke(ctx: click.Context, terminal_id: str) -> None:
    """Revoke a terminal's key at once."""
    store = _store(ctx)
    try:
        if not store.revoke_terminal(terminal_id):
            raise SeochoError(_("no live terminal {terminal_id!r}").format(terminal_id=terminal_id))
    finally:
        store.close()


@terminals.command("list")
@click.pass_context
def list_terminals(ctx: click.Context) -> None:
    """The terminals, their institution, identity, scopes and whether they are revoked."""
    store = _store(ctx)
    try:
        rows = [t.__dict__ for t in store.terminals()]
    finally:
        store.close()
    for row in rows:
        click.echo(json.dumps({**row, "scopes": list(row["scopes"])}, ensure_ascii=False))


@serve.command("enrolment-secret")
@click.argument("member_id")
@click.pass_context
def enrolment_secret(ctx: click.Context, member_id: str) -> None:
    """A one-time secret for MEMBER_ID's enrolment in the wallet page (printed once, kept hashed)."""
    if ctx.obj.profile is not None:  # the service relays enrolments to the CA, which checks its own secret
        raise SeochoError(
            _(
                "on a network the district's CA issues the one-time secret: seocho ca register "
                "{member_id} --attr seocho.role=member --secret-out FILE"
            ).format(member_id=member_id)
        )
    store = _store(ctx)
    try:
        click.echo(store.enrolment_secrets.issue(member_id))
    except ValueError as exc:
        raise SeochoError(str(exc)) from None
    finally:
        store.close()
