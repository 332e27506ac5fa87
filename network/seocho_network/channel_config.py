"""Channel configuration updates, signed by the organisation that owns what changes.

Revoking an identity at its CA is not enough for Fabric: peers and orderers only refuse a certificate
once the organisation's MSP in the channel configuration carries the CA's revocation list (CRL). This
module fetches the channel's current config block, puts the CRL into the organisation's MSP definition,
lets `configtxlator compute_update` derive the minimal update, and submits it signed by the
organisation's admin (the MSP value's modification policy is that organisation's Admins).

An organisation that runs orderers is defined in the Orderer group too, and Fabric refuses two different
definitions of one MSP ID: both definitions change in the same update. Each is governed by its own
organisation group's Admins policy, so the organisation's admin signs for both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.msp import msp_config_pb2

from .admin import PeerAdmin
from .binaries import run_tool
from .configs import node_environment
from .topology import Organization

_CONFIG_UPDATE = common_pb2.HeaderType.Value("CONFIG_UPDATE")


def current_config(admin: PeerAdmin, channel: str, workdir: Path) -> configtx_pb2.Config:
    """The channel's config, from its latest config block (fetched through the orderer)."""
    block_file = workdir / "config.block"
    admin.run(["channel", "fetch", "config", str(block_file), "-c", channel, *admin.orderer_flags_any()])
    block = common_pb2.Block.FromString(block_file.read_bytes())
    envelope = common_pb2.Envelope.FromString(block.data.data[0])
    payload = common_pb2.Payload.FromString(envelope.payload)
    return configtx_pb2.ConfigEnvelope.FromString(payload.data).config


_DEFINING_GROUPS = ("Application", "Orderer")


def _msp_values(config: configtx_pb2.Config, org: Organization) -> list[configtx_pb2.ConfigValue]:
    """Every definition of `org`'s MSP on the channel: in the Application group, and in the Orderer group
    when the organisation runs orderers."""
    found = []
    for name in _DEFINING_GROUPS:
        if name not in config.channel_group.groups:
            continue
        group = config.channel_group.groups[name]
        if org.name in group.groups:
            found.append(group.groups[org.name].values["MSP"])
    if not found:
        raise ValueError(f"the channel configuration does not define {org.msp_id}")
    return found


def revocation_lists(config: configtx_pb2.Config, org: Organization) -> list[list[bytes]]:
    """The CRLs of each of `org`'s MSP definitions (Application first, then Orderer)."""
    lists = []
    for value in _msp_values(config, org):
        msp = msp_config_pb2.MSPConfig.FromString(value.value)
        lists.append(list(msp_config_pb2.FabricMSPConfig.FromString(msp.config).revocation_list))
    return lists


def with_revocation_list(
    config: configtx_pb2.Config, org: Organization, crl_pem: bytes
) -> configtx_pb2.Config:
    """A copy of `config` whose `org` MSP definitions all carry `crl_pem` in place of the CRLs its CA
    issued before."""
    updated = configtx_pb2.Config()
    updated.CopyFrom(config)
    for value in _msp_values(updated, org):
        msp = msp_config_pb2.MSPConfig.FromString(value.value)
        fabric_msp = msp_config_pb2.FabricMSPConfig.FromString(msp.config)
        # The CA's newest CRL lists every certificate it ever revoked, so it replaces the older ones.
        del fabric_msp.revocation_list[:]
        fabric_msp.revocation_list.append(crl_pem)
        msp.config = fabric_msp.SerializeToString()
        value.value = msp.SerializeToString()
    return updated


def submit_update(
    admin: PeerAdmin, channel: str, original: configtx_pb2.Config, updated: configtx_pb2.Config, workdir: Path
) -> None:
    """Computes the update from `original` to `updated` and submits it signed by `admin`'s organisation."""
    original_file, updated_file, update_file = (
        workdir / "original.pb",
        workdir / "updated.pb",
        workdir / "update.pb",
    )
    original_file.write_bytes(original.SerializeToString())
    updated_file.write_bytes(updated.SerializeToString())
    run_tool(
        [admin.binaries.tool("configtxlator"), "compute_update", "--channel_id", channel,
         "--original", original_file, "--updated", updated_file, "--output", update_file],
        node_environment(), what="configtxlator compute_update",
    )  # fmt: skip
    header = common_pb2.ChannelHeader(type=_CONFIG_UPDATE, channel_id=channel)
    payload = common_pb2.Payload(
        header=common_pb2.Header(channel_header=header.SerializeToString()),
        data=configtx_pb2.ConfigUpdateEnvelope(config_update=update_file.read_bytes()).SerializeToString(),
    )
    envelope_file = workdir / "update-envelope.pb"
    envelope_file.write_bytes(common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString())
    # `peer channel update` signs the envelope as the admin, then sends it to the orderer.
    admin.run(["channel", "update", "-f", str(envelope_file), "-c", channel, *admin.orderer_flags_any()])


def publish_revocation_list(admin: PeerAdmin, channel: str, org: Organization, crl_pem: bytes) -> bool:
    """Puts `org`'s CRL into the channel config; False when the config already carries exactly it."""
    with tempfile.TemporaryDirectory(prefix="seocho-config-") as directory:
        workdir = Path(directory)
        original = current_config(admin, channel, workdir)
        if all(crls == [crl_pem] for crls in revocation_lists(original, org)):
            return False
        submit_update(admin, channel, original, with_revocation_list(original, org, crl_pem), workdir)
    return True
