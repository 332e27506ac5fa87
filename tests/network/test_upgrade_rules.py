"""The rolling upgrade's rules that need no network: how the release is recorded in the topology file,
and what `upgrade-fabric` refuses before touching a node."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from seocho_network.binaries import FABRIC_VERSIONS
from seocho_network.cli import cli
from seocho_network.topology import DEFAULT_TOPOLOGY, FABRIC_VERSION_VARIABLE, load_topology
from seocho_network.upgrade import overriding_variable, record_release
from upgrade_support import default_topology_copy


@pytest.mark.parametrize("release", FABRIC_VERSIONS)
def test_the_release_is_recorded_in_the_topology_and_nothing_else_changes(
    tmp_path: Path, release: str
) -> None:
    original = DEFAULT_TOPOLOGY.read_text(encoding="utf-8")
    path = default_topology_copy(tmp_path)
    record_release(path, release)
    assert load_topology(path).fabric_version == release
    changed = [
        (a, b) for a, b in zip(original.splitlines(), path.read_text().splitlines(), strict=True) if a != b
    ]
    assert all(a.startswith("fabric_version:") for a, _ in changed)  # comments and the rest kept


def test_a_topology_without_fabric_version_gains_one(tmp_path: Path) -> None:
    text = "\n".join(
        line for line in DEFAULT_TOPOLOGY.read_text(encoding="utf-8").splitlines()
        if not line.startswith("fabric_version:")
    )  # fmt: skip
    path = tmp_path / "topology.yaml"
    path.write_text(text, encoding="utf-8")
    record_release(path, "3.1.5")
    assert load_topology(path).fabric_version == "3.1.5"
    record_release(path, "2.5.16")
    assert load_topology(path).fabric_version == "2.5.16"
    assert path.read_text().count("fabric_version:") == 1


@given(st.sampled_from(FABRIC_VERSIONS), st.sampled_from(FABRIC_VERSIONS))
def test_recording_twice_keeps_only_the_last(first: str, second: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = default_topology_copy(Path(directory))
        record_release(path, first)
        record_release(path, second)
        assert load_topology(path).fabric_version == second


def test_a_version_variable_that_would_undo_the_upgrade_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FABRIC_VERSION_VARIABLE, "2.5.16")
    assert FABRIC_VERSION_VARIABLE in (overriding_variable("3.1.5") or "")
    assert overriding_variable("2.5.16") is None
    monkeypatch.delenv(FABRIC_VERSION_VARIABLE)
    assert overriding_variable("3.1.5") is None


def test_the_command_refuses_an_unpinned_release_and_changes_nothing(tmp_path: Path) -> None:
    topology = default_topology_copy(tmp_path)
    told = CliRunner().invoke(
        cli,
        ["--home", str(tmp_path / "home"), "--topology", str(topology), "upgrade-fabric", "--to", "9.9.9"],
    )
    assert told.exit_code == 2 and "9.9.9" in told.output
    assert topology.read_text() == DEFAULT_TOPOLOGY.read_text(encoding="utf-8")
    assert not (tmp_path / "home").exists()


def test_the_command_refuses_a_docker_deployment_that_is_not_up_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In Docker the containers are recreated one at a time (docker_upgrade.py), which keeps a quorum
    only if every node serves: a deployment not up is refused before any record is written."""
    monkeypatch.delenv(FABRIC_VERSION_VARIABLE, raising=False)
    topology = default_topology_copy(tmp_path)
    told = CliRunner().invoke(
        cli,
        ["--runtime", "docker", "--home", str(tmp_path / "home"), "--topology", str(topology),
         "upgrade-fabric", "--to", "3.1.5"],
    )  # fmt: skip
    assert told.exit_code != 0
    assert "every node must be up" in str(told.exception or told.output)
    assert load_topology(topology).fabric_version == "2.5.16"
    assert not (tmp_path / "home").exists()


def test_the_command_refuses_bft_in_docker_before_touching_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing home and no --topology: the refusal comes before the home gets its own copy of the
    default topology (which the release would be recorded in)."""
    monkeypatch.delenv(FABRIC_VERSION_VARIABLE, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    arguments = ["docker", "--home", str(home), "upgrade-fabric", "--to", "3.1.5", "--bft"]
    told = CliRunner().invoke(cli, arguments)
    assert told.exit_code == 2 and "not automated in Docker" in told.output
    assert list(home.iterdir()) == []


def test_the_ordering_type_is_recorded_in_the_topology_and_nothing_else_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seocho_network.bft_migration import record_ordering_type
    from seocho_network.topology import ORDERER_TYPE_VARIABLE

    monkeypatch.delenv(ORDERER_TYPE_VARIABLE, raising=False)
    path = default_topology_copy(tmp_path)
    record_release(path, "3.1.5")  # BFT needs Fabric 3
    original = path.read_text(encoding="utf-8")
    record_ordering_type(path, "bft")
    assert load_topology(path).orderer_type == "bft"
    changed = [
        (a, b) for a, b in zip(original.splitlines(), path.read_text().splitlines(), strict=True) if a != b
    ]
    assert [b.strip() for _, b in changed] == ["type: bft"]
    record_ordering_type(path, "bft")  # again: nothing to change, no error
    assert load_topology(path).orderer_type == "bft"


def test_a_home_that_records_its_release_opens_on_it(tmp_path: Path) -> None:
    """`upgrade-fabric` without --topology records the release in the home's own copy, which `Network.open`
    prefers to the project's default from then on; an explicit --topology still wins."""
    from seocho_network.network import OWN_TOPOLOGY, Network

    home = tmp_path / "home"
    home.mkdir()
    default_release = load_topology().fabric_version
    assert Network.open(home).topology.fabric_version == default_release
    other = next(release for release in FABRIC_VERSIONS if release != default_release)
    original = DEFAULT_TOPOLOGY.read_text(encoding="utf-8")
    (home / OWN_TOPOLOGY).write_text(original, encoding="utf-8")
    record_release(home / OWN_TOPOLOGY, other)
    assert Network.open(home).topology.fabric_version == other
    assert Network.open(home, DEFAULT_TOPOLOGY).topology.fabric_version == default_release
    assert DEFAULT_TOPOLOGY.read_text(encoding="utf-8") == original


def test_stop_before_without_bft_is_refused_before_anything_opens(tmp_path: Path) -> None:
    told = CliRunner().invoke(
        cli, ["--home", str(tmp_path / "home"), "upgrade-fabric", "--to", "3.1.5", "--stop-before", "normal"]
    )
    assert told.exit_code == 2 and "give --bft too" in told.output
    assert not (tmp_path / "home").exists()


def test_the_migration_stops_only_where_it_can_be_undone(tmp_path: Path) -> None:
    from seocho_network.bft_migration import migrate_to_bft
    from seocho_network.context import NetworkError
    from seocho_network.network import Network

    with pytest.raises(NetworkError, match="stops only before normal"):
        migrate_to_bft(Network.open(tmp_path / "home"), DEFAULT_TOPOLOGY, stop_before="peers")
    told = CliRunner().invoke(
        cli, ["--home", str(tmp_path / "home"), "upgrade-fabric", "--to", "3.1.5", "--bft", "--stop-before",
              "peers"],
    )  # fmt: skip
    assert told.exit_code == 2 and "normal" in told.output


@pytest.mark.parametrize("runtime", ["native", "docker"])
def test_the_rollback_refuses_a_finished_migration_or_docker_before_touching_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    from seocho_network.bft_migration import record_ordering_type
    from seocho_network.topology import ORDERER_TYPE_VARIABLE

    monkeypatch.delenv(FABRIC_VERSION_VARIABLE, raising=False)
    monkeypatch.delenv(ORDERER_TYPE_VARIABLE, raising=False)
    topology = default_topology_copy(tmp_path)
    record_release(topology, "3.1.5")
    record_ordering_type(topology, "bft")
    recorded = topology.read_text(encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    told = CliRunner().invoke(
        cli, ["--runtime", runtime, "--home", str(home), "--topology", str(topology), "rollback-bft"]
    )
    assert told.exit_code != 0
    said = str(told.exception or "") + told.output
    assert ("no way back to Raft" if runtime == "native" else "native runtime") in said, said
    assert topology.read_text(encoding="utf-8") == recorded
    assert list(home.iterdir()) == []


def test_the_rollback_on_fabric_2_5_says_there_is_no_migration_and_makes_no_topology(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FABRIC_VERSION_VARIABLE, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    told = CliRunner().invoke(cli, ["--home", str(home), "rollback-bft"])
    assert told.exit_code != 0
    assert "no migration to undo" in str(told.exception or "") + told.output
    assert list(home.iterdir()) == []  # no copy of the default topology made in the home
