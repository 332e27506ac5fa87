"""`seocho index`: the off-chain reporting store, its reports and its reconciliation with the ledger."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click
import fabric_gateway as fg

from seocho.backend import GatewayBackend, connect_gateway
from seocho.cli import Settings, cli
from seocho.cli_base import option
from seocho.coin import Coin
from seocho.errors import ConnectionFailedError, SeochoError
from seocho.i18n import N_, _
from seocho.index_metrics import IndexMetrics, MetricsServer, chain_height
from seocho.index_report import reconcile, store_report
from seocho.index_store import Store, StoreError, open_store
from seocho.indexer import run_index


def default_store() -> str:
    return str(Path(os.environ.get("SEOCHO_HOME", Path.home() / ".seocho")) / "index.sqlite")


@contextmanager
def _store(location: str | None, *, read_only: bool = False) -> Iterator[Store]:
    try:
        where = location or os.environ.get("SEOCHO_INDEX_DB") or default_store()
        store = open_store(where, read_only=read_only)
    except StoreError as exc:
        raise ConnectionFailedError(str(exc)) from None
    with store:
        yield store


def _network_of(settings: Settings) -> Any:
    if settings.profile is None:
        raise click.UsageError(_("seocho index reads a network's blocks: give --profile"))
    return settings.profile


def _follow(
    settings: Settings,
    store: Store,
    idle: float | None,
    stop: threading.Event | None = None,
    metrics: IndexMetrics | None = None,
) -> Any:
    profile = _network_of(settings)
    with connect_gateway(profile, settings.signer_name()) as gateway:
        network = gateway.get_network(profile.channel)
        on_height = None
        if metrics is not None:
            metrics.peer_height = lambda: chain_height(network)
            metrics.indexed(store.next_block())
            on_height = metrics.indexed
        started = time.monotonic()
        try:
            stats, moved = run_index(
                network, store, profile.chaincode, idle_seconds=idle, stop=stop, on_height=on_height
            )
        except fg.GatewayError as exc:
            raise ConnectionFailedError(
                _("the block stream failed: {reason}").format(reason=exc.message)
            ) from None
        except StoreError as exc:
            raise SeochoError(str(exc)) from None
    seconds = time.monotonic() - started
    return {
        "blocks": stats.blocks,
        "movements": moved,
        "reconnects": stats.reconnects,
        "next_block": store.next_block(),
        "seconds": round(seconds, 3),
    }


def _serve_metrics(address: str, metrics: IndexMetrics) -> MetricsServer:
    try:
        return MetricsServer(address, metrics.registry)
    except ValueError:
        raise click.BadParameter(
            _("give HOST:PORT, e.g. 127.0.0.1:9470"), param_hint="--metrics-address"
        ) from None
    except OSError as exc:
        raise SeochoError(
            _("cannot serve metrics on {address}: {reason}").format(address=address, reason=exc.strerror)
        ) from None


DB_HELP = N_("Store: a SQLite file or postgresql://USER@HOST/DB [default: $SEOCHO_HOME/index.sqlite].")


@cli.group(invoke_without_command=True)
@option("--db", "db", envvar="SEOCHO_INDEX_DB", help=DB_HELP)
@option("--rebuild", is_flag=True, help=N_("Empty the store first and read again from block 0."))
@option("--follow", is_flag=True, help=N_("Keep following new blocks until interrupted."))
@option(
    "--idle",
    type=float,
    default=2.0,
    show_default=True,
    help=N_("Without --follow: stop after this many seconds without a new block."),
)
@option(
    "--metrics-address",
    metavar="HOST:PORT",
    help=N_("Serve Prometheus metrics (the store's lag behind the peer) on HOST:PORT while indexing."),
)
@click.pass_context
def index(
    ctx: click.Context, db: str | None, rebuild: bool, follow: bool, idle: float, metrics_address: str | None
) -> None:
    """Follow the channel's blocks into the reporting store, from its checkpoint (network only)."""
    ctx.ensure_object(Settings)
    ctx.meta["seocho.index.db"] = db
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj
    _network_of(settings)
    with ExitStack() as serving:
        metrics = None
        if metrics_address:  # before the store is opened: a taken address changes nothing
            metrics = IndexMetrics()
            serving.enter_context(_serve_metrics(metrics_address, metrics))
        with _store(db) as store:
            if rebuild:
                store.reset()
            result = _follow(settings, store, None if follow else idle, metrics=metrics)
        settings.show(
            result,
            lambda r: _(
                "{blocks} blocks, {movements} movements indexed in {seconds} s; next block {next_block}"
            ).format(**r),
        )


@index.command("report")
@click.pass_context
def index_report(ctx: click.Context) -> None:
    """The district report from the store (fast; no ledger query)."""
    settings: Settings = ctx.obj
    # Read-only: a report runs beside a following `seocho index` without waiting for its writes.
    with _store(ctx.meta.get("seocho.index.db"), read_only=True) as store:
        started = time.monotonic()
        report = store_report(store)
        report["seconds"] = round(time.monotonic() - started, 4)
    settings.show(report)


@index.command("reconcile")
@option(
    "--idle",
    type=float,
    default=2.0,
    show_default=True,
    help=N_("Catch up first until this many seconds pass without a block."),
)
@click.pass_context
def index_reconcile(ctx: click.Context, idle: float) -> None:
    """Catch up, then compare the store with the ledger's own report and audit (admin or auditor)."""
    settings: Settings = ctx.obj
    profile = _network_of(settings)
    with _store(ctx.meta.get("seocho.index.db")) as store:
        _follow(settings, store, idle)
        ours = store_report(store)
        with connect_gateway(profile, settings.signer_name()) as gateway:
            coin = Coin(GatewayBackend(gateway.get_network(profile.channel).get_contract(profile.chaincode)))
            result = reconcile(ours, coin.get_report(), coin.audit_supply())
    settings.show(result, _reconcile_text)
    if not result["ok"]:
        raise click.exceptions.Exit(1)


def _reconcile_text(result: dict[str, Any]) -> str:
    if result["ok"]:
        return _("the store agrees with the ledger's report and audit (next block {next_block})").format(
            **result
        )
    lines = [
        _("the store differs from the ledger in {count} figures:").format(count=len(result["differences"]))
    ]
    for difference in result["differences"]:
        lines.append(_("  {figure}: ledger {ledger}, store {index}").format(**difference))
    return "\n".join(lines)
