"""Ordering shared between the organisations: each runs Raft orderers, and a change of the ordering
service needs the admins of a MAJORITY of them (with two, both)."""

from __future__ import annotations

import time

import pytest
from fabric_network_support import RunningNetwork
from fabric_protos.common import configtx_pb2, policies_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_config
from fabric_protos.orderer.etcdraft import configuration_pb2 as raft_config
from seocho_network import config_updates
from seocho_network.binaries import CommandError

pytestmark = pytest.mark.fabric


def _orderer_group(running: RunningNetwork) -> configtx_pb2.ConfigGroup:
    config = config_updates.channel_config(running.network, running.district)
    return config.channel_group.groups["Orderer"]


def test_every_organisation_runs_a_consenter_and_is_in_the_orderer_group(
    fabric_network: RunningNetwork,
) -> None:
    orderer = _orderer_group(fabric_network)
    assert set(orderer.groups) == {org.name for org in fabric_network.topology.organizations}
    consensus = orderer_config.ConsensusType.FromString(orderer.values["ConsensusType"].value)
    consenters = raft_config.ConfigMetadata.FromString(consensus.metadata).consenters
    ports = {c.port for c in consenters}
    for org in fabric_network.topology.organizations:
        assert org.orderers and {o.cluster_port for o in org.orderers} <= ports, org.name
    rule = policies_pb2.ImplicitMetaPolicy.FromString(orderer.policies["Admins"].policy.value)
    assert (rule.rule, rule.sub_policy) == (policies_pb2.ImplicitMetaPolicy.MAJORITY, "Admins")


def _set_max_message_count(count: int) -> config_updates.Change:
    def change(config: configtx_pb2.Config) -> None:
        value = config.channel_group.groups["Orderer"].values["BatchSize"]
        batch = orderer_config.BatchSize.FromString(value.value)
        batch.max_message_count = count
        value.value = batch.SerializeToString()

    return change


def _max_message_count(running: RunningNetwork) -> int:
    value = _orderer_group(running).values["BatchSize"].value
    return int(orderer_config.BatchSize.FromString(value).max_message_count)


def _wait_for_max_message_count(running: RunningNetwork, expected: int) -> None:
    # The orderer asked may be a Raft follower that has not written the config block yet.
    deadline = time.monotonic() + 30
    while _max_message_count(running) != expected:
        assert time.monotonic() < deadline, f"max message count never became {expected}"
        time.sleep(0.5)


def test_an_ordering_change_needs_both_organisations_admins(fabric_network: RunningNetwork) -> None:
    network, district, partners = fabric_network.network, fabric_network.district, fabric_network.partners
    before = _max_message_count(fabric_network)
    alone = config_updates.propose(
        network, district, "batch-size-district-alone", _set_max_message_count(before + 1)
    )
    with pytest.raises(CommandError, match="policy"):
        config_updates.submit(network, district, alone)  # signed by the district only
    assert _max_message_count(fabric_network) == before

    both = config_updates.propose(network, district, "batch-size-both", _set_max_message_count(before + 1))
    config_updates.sign(network, district, both)
    assert config_updates.signers(both) == [district.msp_id]
    config_updates.submit(network, partners, both)
    _wait_for_max_message_count(fabric_network, before + 1)
    # Back as it was (both again), so the other tests see the topology's batch size.
    restore = config_updates.propose(network, partners, "batch-size-restore", _set_max_message_count(before))
    config_updates.sign(network, partners, restore)
    config_updates.submit(network, district, restore)
    _wait_for_max_message_count(fabric_network, before)
