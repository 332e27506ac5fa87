"""The versions are pinned once (network/versions.env): the scripts and the Python code read the same."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from seocho_network.binaries import (
    FABRIC_CA_VERSION,
    FABRIC_VERSION,
    FABRIC_VERSIONS,
    MissingBinariesError,
    cache_root,
    find_binaries,
    read_versions,
)
from seocho_network.compose_render import compose_text
from seocho_network.topology import load_topology

REPO = Path(__file__).resolve().parents[2]


def _bash(snippet: str) -> str:
    finished = subprocess.run(
        ["bash", "-c", f"source {REPO / 'network' / 'versions.env'}; {snippet}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return finished.stdout.strip()


def test_bash_and_python_read_the_same_pins() -> None:
    assert _bash('echo "$FABRIC_VERSION"') == FABRIC_VERSION
    assert tuple(_bash('echo "$FABRIC_VERSIONS"').split()) == FABRIC_VERSIONS
    assert _bash('echo "$FABRIC_CA_VERSION"') == FABRIC_CA_VERSION
    assert FABRIC_VERSION in FABRIC_VERSIONS


def test_install_script_puts_each_release_where_python_looks() -> None:
    script = REPO / "scripts" / "install-fabric.sh"
    for version in FABRIC_VERSIONS:
        printed = subprocess.run(
            [script, "--print-path", version], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert Path(printed) == cache_root() / f"fabric-{version}"


def test_install_script_refuses_an_unpinned_release() -> None:
    script = REPO / "scripts" / "install-fabric.sh"
    finished = subprocess.run([script, "--version", "9.9.9"], capture_output=True, text=True)
    assert finished.returncode == 1
    assert "pinned releases" in finished.stderr


def test_an_unpinned_release_is_a_clear_error() -> None:
    with pytest.raises(MissingBinariesError, match="not a release the project pins"):
        find_binaries("1.4.12")


def test_the_compose_file_names_the_pinned_images() -> None:
    text = compose_text(load_topology())
    assert f"hyperledger/fabric-peer:{FABRIC_VERSION}" in text
    assert f"hyperledger/fabric-ca:{FABRIC_CA_VERSION}" in text


def test_a_malformed_pin_is_reported_with_its_line(tmp_path: Path) -> None:
    pins = tmp_path / "versions.env"
    pins.write_text('# comment\nFABRIC_VERSION=2.5.16\nFABRIC_VERSIONS="2.5.16 3.1.5"\nnot a pin\n')
    with pytest.raises(ValueError, match=r"versions.env:4"):
        read_versions(pins)
    pins.write_text('FABRIC_VERSION=2.5.16 # trailing\nFABRIC_VERSIONS="2.5.16 3.1.5"\n')
    assert read_versions(pins) == {"FABRIC_VERSION": "2.5.16", "FABRIC_VERSIONS": "2.5.16 3.1.5"}
