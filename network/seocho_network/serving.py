"""What each organisation's chaincode servers serve, recorded so that `up` after `down` serves it again.

One record per organisation and chaincode (`<org home>/chaincode/<name>.serving`): the package ID and how
to serve it. Both runtimes write it when they start a server and read it to resume.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .layout import NetworkLayout
from .lifecycle import ChaincodeService
from .topology import ChaincodeSpec, Organization


def _record_file(layout: NetworkLayout, org: Organization, name: str) -> Path:
    return layout.chaincode_dir(org) / f"{name}.serving"


def serving_record(
    layout: NetworkLayout, org: Organization, service: ChaincodeService
) -> dict[str, Any] | None:
    try:
        return dict(json.loads(_record_file(layout, org, service.spec.name).read_text()))
    except (OSError, ValueError):
        return None


def write_serving_record(
    layout: NetworkLayout, org: Organization, service: ChaincodeService, package_id: str
) -> None:
    record = {
        "package_id": package_id,
        "name": service.spec.name,
        "version": service.spec.version,
        "endorsement_policy": service.spec.endorsement_policy,
        "digest": service.digest,
        "index": service.index,
        "command": list(service.command),
        "environment": dict(service.environment),
    }
    path = _record_file(layout, org, service.spec.name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(record, indent=2) + "\n")


def served(layout: NetworkLayout, org: Organization) -> list[tuple[ChaincodeService, str]]:
    """Every (service, package ID) the organisation's servers served, by chaincode name."""
    found = []
    for path in sorted(layout.chaincode_dir(org).glob("*.serving")):
        record = json.loads(path.read_text())
        spec = ChaincodeSpec(record["name"], record["version"], record["endorsement_policy"])
        service = ChaincodeService(
            spec,
            tuple(record["command"]),
            record["digest"],
            int(record["index"]),
            dict(record["environment"]),
        )
        found.append((service, str(record["package_id"])))
    return found
