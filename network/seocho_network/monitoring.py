"""Prometheus for the native network: a scrape config rendered from the topology, the alert rules, and the
Prometheus and certificate-exporter processes, all under `<network home>/monitoring/`.

prometheus.yml       rendered here: every orderer's, peer's and CA server's operations endpoint over TLS
                     with the organisation's operations client certificate, the chaincode servers'
                     metrics (when the topology gives them a metrics port), the certificate exporter
                     and any `seocho index --metrics-address` given
alerts.yml           network/monitoring/alerts.yml, copied unchanged (its cases: alerts_test.yml)
data/                Prometheus' time-series database
prometheus.{log,pid} the Prometheus process, bound to 127.0.0.1
exporter.{log,pid}   the certificate exporter (`seocho_network.certificate_exporter`)

Scrape jobs are one per organisation and kind (each organisation's endpoints want its own client
certificate), relabelled to the job names the rules use: fabric-orderer, fabric-peer, fabric-ca,
seocho-chaincode, seocho-index, seocho-certificates; `instance` is the node id.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from .admin import operations_client
from .configs import node_environment
from .layout import NetworkLayout
from .processes import ProcessSpec, running_pid, signal_node, start, stop, tail
from .topology import LOOPBACK, Organization, Topology

RULES_SOURCE = Path(__file__).resolve().parents[1] / "monitoring" / "alerts.yml"
PROMETHEUS_PORT = 9490  # + the topology's port offset, like every port of the network
EXPORTER_PORT = 9491
READY_TIMEOUT = 60.0


class MonitoringError(RuntimeError):
    """Prometheus or the exporter would not start, or the configuration is refused."""


@dataclass(frozen=True)
class MonitoringSettings:
    """What `up` was asked for; kept in settings.json so `status` and `down` need no options."""

    prometheus_port: int
    exporter_port: int
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    index_targets: tuple[str, ...] = ()
    retention: str = "30d"
    http_targets: tuple[str, ...] = ()
    # The CA file that verifies the `seocho serve` certificate; None scrapes the service over plain HTTP
    # (which it offers on 127.0.0.1 only).
    http_ca: str | None = None

    @classmethod
    def defaults(cls, topology: Topology, **overrides: Any) -> MonitoringSettings:
        offset = topology.port_offset
        values: dict[str, Any] = {
            "prometheus_port": PROMETHEUS_PORT + offset,
            "exporter_port": EXPORTER_PORT + offset,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["index_targets"] = tuple(values.get("index_targets", ()))
        values["http_targets"] = tuple(values.get("http_targets", ()))
        return cls(**values)


@dataclass(frozen=True)
class MonitoringFiles:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "prometheus.yml"

    @property
    def rules(self) -> Path:
        return self.root / "alerts.yml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    def process(self, name: str) -> tuple[Path, Path]:
        """(log, pid) of `name`: prometheus or exporter."""
        return self.root / f"{name}.log", self.root / f"{name}.pid"


# ---- the scrape configuration ---------------------------------------------------------------------


def _tls_job(
    name: str, job: str, layout: NetworkLayout, org: Organization, targets: dict[str, str]
) -> dict[str, Any]:
    client = operations_client(layout, org)
    config = _job(name, job, targets)
    config["scheme"] = "https"
    config["tls_config"] = {
        "ca_file": str(client.root),
        "cert_file": str(client.cert),
        "key_file": str(client.key),
    }
    return config


def _job(name: str, job: str, targets: dict[str, str]) -> dict[str, Any]:
    """A scrape job `name` whose series carry job=`job` and instance=the node id (targets: id -> address)."""
    return {
        "job_name": name,
        "static_configs": [
            {"targets": [address], "labels": {"node": node}} for node, address in targets.items()
        ],
        "relabel_configs": [
            {"target_label": "job", "replacement": job},
            {"source_labels": ["node"], "target_label": "instance"},
        ],
    }


def _http_job(settings: MonitoringSettings) -> dict[str, Any]:
    """`seocho serve`'s /metrics: HTTPS verified by the district's CA file, or loopback HTTP."""
    services = {f"http-{n}": address for n, address in enumerate(settings.http_targets)}
    config = _job("seocho-http", "seocho-http", services)
    if settings.http_ca is not None:
        config["scheme"] = "https"
        config["tls_config"] = {"ca_file": settings.http_ca}
    return config


def render_config(
    topology: Topology, layout: NetworkLayout, settings: MonitoringSettings, rules: Path
) -> dict[str, Any]:
    """prometheus.yml as a document."""
    jobs: list[dict[str, Any]] = []
    for org in topology.organizations:
        key = org.name.lower()
        orderers = {o.node_id: f"{LOOPBACK}:{o.operations_port}" for o in org.orderers}
        peers = {p.node_id: f"{LOOPBACK}:{p.operations_port}" for p in org.peers}
        if orderers:
            jobs.append(_tls_job(f"fabric-orderer-{key}", "fabric-orderer", layout, org, orderers))
        if peers:
            jobs.append(_tls_job(f"fabric-peer-{key}", "fabric-peer", layout, org, peers))
        cas = {ca.node_id: f"{LOOPBACK}:{ca.operations_port}" for ca in (org.ca, org.tls_ca)}
        jobs.append(_tls_job(f"fabric-ca-{key}", "fabric-ca", layout, org, cas))
        server = org.chaincode_server
        if server.metrics_port is not None:  # the coin's server (further chaincodes' are not scraped)
            chaincode = {server.node_id: f"{LOOPBACK}:{server.metrics_port}"}
            jobs.append(_tls_job(f"seocho-chaincode-{key}", "seocho-chaincode", layout, org, chaincode))
    jobs.append(
        _job(
            "seocho-certificates",
            "seocho-certificates",
            {"certificates": f"{LOOPBACK}:{settings.exporter_port}"},
        )
    )
    if settings.index_targets:
        index = {f"index-{n}": address for n, address in enumerate(settings.index_targets)}
        jobs.append(_job("seocho-index", "seocho-index", index))
    if settings.http_targets:
        jobs.append(_http_job(settings))
    return {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "evaluation_interval": settings.evaluation_interval,
            "external_labels": {"network": topology.channel},
        },
        "rule_files": [str(rules)],
        "scrape_configs": jobs,
    }


# ---- the processes --------------------------------------------------------------------------------


def prometheus_binary() -> Path:
    found = os.environ.get("PROMETHEUS") or shutil.which("prometheus")
    if not found:
        raise MonitoringError(
            "prometheus is not installed: install Debian's prometheus package (scripts/install-test-deps.sh)"
        )
    return Path(found)


def _get(url: str, timeout: float = 3.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read()


class Monitoring:
    """The monitoring of the network in `layout` (`up`, `down`, `status`)."""

    def __init__(self, topology: Topology, layout: NetworkLayout) -> None:
        self.topology = topology
        self.layout = layout
        self.files = MonitoringFiles(layout.root / "monitoring")

    @property
    def settings(self) -> MonitoringSettings:
        try:
            document = json.loads(self.files.settings.read_text())
            for targets in ("index_targets", "http_targets"):
                document[targets] = tuple(document.get(targets, ()))
            return MonitoringSettings(**document)
        except (OSError, ValueError, TypeError):
            return MonitoringSettings.defaults(self.topology)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.prometheus_port}"

    def render(self, settings: MonitoringSettings) -> Path:
        """Write prometheus.yml, alerts.yml and settings.json; check them with promtool; the config's path."""
        if not self.layout.root.is_dir():
            raise MonitoringError(f"no network at {self.layout.root}: run `network.sh up` first")
        promtool = prometheus_binary().with_name("promtool")
        self.files.root.mkdir(mode=0o700, exist_ok=True)
        shutil.copyfile(RULES_SOURCE, self.files.rules)
        document = render_config(self.topology, self.layout, settings, self.files.rules)
        self.files.config.write_text(
            "# Rendered from the topology by seocho_network.monitoring (`network.sh monitoring up`).\n"
            + yaml.safe_dump(document, sort_keys=False)
        )
        if promtool.exists():
            checked = subprocess.run(
                [str(promtool), "check", "config", str(self.files.config)], capture_output=True, text=True
            )
            if checked.returncode != 0:
                raise MonitoringError(
                    f"promtool refused {self.files.config}:\n{checked.stdout}{checked.stderr}"
                )
        self.files.settings.write_text(json.dumps(asdict(settings), indent=2) + "\n")
        return self.files.config

    def up(self, settings: MonitoringSettings | None = None) -> MonitoringSettings:
        """Render the config, start the exporter and Prometheus (unless they run), wait until ready."""
        settings = settings or MonitoringSettings.defaults(self.topology)
        if self.files.settings.exists() and self.settings != settings:
            self.down()  # other ports, targets or intervals: start again with the new settings
        self.render(settings)
        exporter_address = f"{LOOPBACK}:{settings.exporter_port}"
        exporter = [sys.executable, "-m", "seocho_network.certificate_exporter",
                    "--home", str(self.layout.root), "--address", exporter_address]  # fmt: skip
        self._start("exporter", exporter, f"http://{LOOPBACK}:{settings.exporter_port}/metrics")
        self.files.data.mkdir(mode=0o700, exist_ok=True)
        prometheus = [
            str(prometheus_binary()),
            f"--config.file={self.files.config}",
            f"--storage.tsdb.path={self.files.data}",
            f"--storage.tsdb.retention.time={settings.retention}",
            # No --web.enable-lifecycle: anyone on the machine could then stop it over HTTP.
            f"--web.listen-address={LOOPBACK}:{settings.prometheus_port}",
        ]
        if self._pid("prometheus") is not None:  # already running: SIGHUP makes it read the new config
            signal_node(self.files.process("prometheus")[1], signal.SIGHUP)
        self._start("prometheus", prometheus, f"http://{LOOPBACK}:{settings.prometheus_port}/-/ready")
        return settings

    def down(self) -> list[str]:
        """Stop Prometheus and the exporter by PID; the names of those that ran."""
        stopped = []
        for name in ("prometheus", "exporter"):
            if stop(self.files.process(name)[1]):
                stopped.append(name)
        return stopped

    def _pid(self, name: str) -> int | None:
        return running_pid(self.files.process(name)[1])

    def _start(self, name: str, command: Sequence[str], ready_url: str) -> None:
        log, pid_file = self.files.process(name)
        if self._pid(name) is None:
            environment = node_environment() | {"PYTHONUNBUFFERED": "1"}
            start(ProcessSpec(f"monitoring-{name}", command, environment, self.files.root, log, pid_file))
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                _get(ready_url)
                return
            except (OSError, urllib.error.URLError):
                pass
            if self._pid(name) is None:
                raise MonitoringError(f"{name} exited; last lines of {log}:\n{tail(log, 15)}")
            if time.monotonic() > deadline:
                raise MonitoringError(f"{name} not ready after {READY_TIMEOUT:.0f} s; see {log}")
            time.sleep(0.2)

    # ---- what Prometheus knows ------------------------------------------------------------------------

    def api(self, path: str) -> Any:
        """GET /api/v1/`path` of the running Prometheus: its `data`."""
        document = json.loads(_get(f"{self.url}/api/v1/{path}"))
        if document.get("status") != "success":
            raise MonitoringError(f"Prometheus answered {path} with {document}")
        return document["data"]

    def targets(self) -> list[dict[str, Any]]:
        """Every active target: job, instance, health ('up', 'down', 'unknown'), last error."""
        return [
            {
                "job": t["labels"].get("job", ""),
                "instance": t["labels"].get("instance", ""),
                "health": t.get("health", "unknown"),
                "error": t.get("lastError", ""),
            }
            for t in self.api("targets?state=active")["activeTargets"]
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts pending or firing: name, state, labels."""
        return [
            {"name": a["labels"].get("alertname", ""), "state": a.get("state", ""), "labels": a["labels"]}
            for a in self.api("alerts")["alerts"]
        ]

    def status(self) -> dict[str, Any]:
        settings = self.settings
        state: dict[str, Any] = {
            "prometheus": {"running": self._pid("prometheus") is not None, "url": self.url},
            "exporter": {"running": self._pid("exporter") is not None, "port": settings.exporter_port},
            "targets": [],
            "alerts": [],
        }
        if state["prometheus"]["running"]:
            try:
                state["targets"], state["alerts"] = self.targets(), self.alerts()
            except (OSError, urllib.error.URLError, ValueError, MonitoringError) as exc:
                state["prometheus"]["error"] = str(exc)
        return state
