"""`network.sh monitoring up|down|status`: Prometheus and the certificate exporter for the native network."""

from __future__ import annotations

import ipaddress
import json

import click

from .monitoring import Monitoring, MonitoringError, MonitoringSettings
from .topology import TopologyError


def _monitoring(ctx: click.Context) -> Monitoring:
    options = ctx.obj  # cli.py's Options: the root's, or the `docker` group's (its home and runtime)
    try:
        network = options.open()
    except TopologyError as exc:
        raise click.ClickException(str(exc)) from None
    return Monitoring(network.topology, network.layout)


def _loopback(address: str) -> bool:
    """Whether HOST:PORT (or [IPv6]:PORT) names this machine's loopback."""
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _refuse_plain_http_off_loopback(http_targets: tuple[str, ...], http_ca: str | None) -> None:
    # `seocho serve` offers plain HTTP on 127.0.0.1 only: elsewhere it is HTTPS, verified with --http-ca.
    if http_ca is not None:
        return
    remote = [address for address in http_targets if not _loopback(address)]
    if remote:
        raise click.BadParameter(
            f"{', '.join(remote)} is not on this machine's loopback: `seocho serve` answers there over "
            "HTTPS only, so give --http-ca (the CA file that verifies its certificate)",
            param_hint="--http",
        )


@click.group()
def monitoring() -> None:
    """Prometheus scraping every node, with the alert rules of network/monitoring/alerts.yml."""


@monitoring.command()
@click.option("--port", type=click.IntRange(1, 65535), help="Prometheus' port [default: 9490 + port offset].")
@click.option(
    "--exporter-port",
    type=click.IntRange(1, 65535),
    help="The certificate exporter's port [default: 9491 + offset].",
)
@click.option(
    "--scrape-interval", default="15s", show_default=True, help="How often every target is scraped."
)
@click.option(
    "--evaluation-interval", default="15s", show_default=True, help="How often the rules are evaluated."
)
@click.option("--index", "index_targets", multiple=True, metavar="HOST:PORT",
              help="A `seocho index --metrics-address` to scrape (repeatable).")  # fmt: skip
@click.option("--http", "http_targets", multiple=True, metavar="HOST:PORT",
              help="A `seocho serve` whose /metrics to scrape (repeatable; without --http-ca, "
                   "on 127.0.0.1 only).")  # fmt: skip
@click.option("--http-ca", type=click.Path(exists=True, dir_okay=False, resolve_path=True),
              help="The CA file that verifies `seocho serve`'s certificate (scrape over HTTPS).")  # fmt: skip
@click.pass_context
def up(
    ctx: click.Context,
    port: int | None,
    exporter_port: int | None,
    scrape_interval: str,
    evaluation_interval: str,
    index_targets: tuple[str, ...],
    http_targets: tuple[str, ...],
    http_ca: str | None,
) -> None:
    """Render prometheus.yml from the topology, start the exporter and Prometheus, wait until ready."""
    _refuse_plain_http_off_loopback(http_targets, http_ca)
    monitor = _monitoring(ctx)
    settings = MonitoringSettings.defaults(
        monitor.topology,
        prometheus_port=port,
        exporter_port=exporter_port,
        scrape_interval=scrape_interval,
        evaluation_interval=evaluation_interval,
        index_targets=index_targets,
        http_targets=http_targets,
        http_ca=http_ca,
    )
    try:
        monitor.up(settings)
    except MonitoringError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"monitoring: Prometheus at {monitor.url} (config {monitor.files.config})")


@monitoring.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop Prometheus and the exporter; the collected data stays in the network home."""
    stopped = _monitoring(ctx).down()
    click.echo(f"monitoring: stopped {', '.join(stopped)}" if stopped else "monitoring: nothing was running")


@monitoring.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Whether Prometheus runs, each target's health, the alerts pending or firing."""
    state = _monitoring(ctx).status()
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    prometheus = state["prometheus"]
    click.echo(f"prometheus: {'running at ' + prometheus['url'] if prometheus['running'] else 'not running'}")
    click.echo(f"certificate exporter: {'running' if state['exporter']['running'] else 'not running'}")
    for target in state["targets"]:
        error = f" ({target['error']})" if target["error"] else ""
        click.echo(f"  {target['job']:<20} {target['instance']:<42} {target['health']}{error}")
    for alert in state["alerts"]:
        instance = alert["labels"].get("instance", alert["labels"].get("channel", ""))
        click.echo(f"  ALERT {alert['name']} {instance} {alert['state']}")
    if not prometheus["running"]:
        raise click.exceptions.Exit(1)
