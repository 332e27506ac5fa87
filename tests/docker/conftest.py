"""Fixtures for the `docker` tests: a Docker Engine, the locally built images (built or found cached).

The engine is started only when none answers, and stopped at the end only if these fixtures started it
(`scripts/lib/dockerd.sh` keeps the marker). When Docker cannot be had (not root and no engine, or no
apt-get to install one) the tests skip with the reason, except under CI=true, where they fail: CI machines
are fresh and must run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from docker_support import DOCKERD_SCRIPT, IMAGES_SCRIPT, DockerImages, engine_answers, unavailable
from seocho_network.port_offsets import claimed_port_offset


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[None]:
    """A Docker Engine that answers `docker info`, started (and later stopped) here if none runs."""
    is_root = os.geteuid() == 0
    if not is_root and not engine_answers():
        unavailable("no Docker Engine answers, and starting one needs root")
    if not is_root and shutil.which("debootstrap") is None:
        unavailable("debootstrap is not installed (the base image needs it), and installing it needs root")
    if shutil.which("dockerd") is None and shutil.which("apt-get") is None and not engine_answers():
        unavailable("no Docker Engine is installed and there is no apt-get to install docker.io")
    # `engine` installs docker.io/debootstrap when missing and starts dockerd unless one answers.
    result = subprocess.run(["bash", str(IMAGES_SCRIPT), "engine"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"could not get a Docker Engine:\n{result.stdout}{result.stderr}")
    started = "started dockerd" in result.stdout
    try:
        yield
    finally:
        if started:
            subprocess.run(["bash", str(DOCKERD_SCRIPT), "stop"], check=True)


@pytest.fixture(scope="session")
def docker_images(docker_engine: None) -> DockerImages:
    """Every image the deployment needs, built (or found cached) by scripts/docker-images.sh."""
    result = subprocess.run(
        ["bash", str(IMAGES_SCRIPT), "compose", "base", "fabric", "chaincode"], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/docker-images.sh failed:\n{result.stdout}{result.stderr}")
    printed = subprocess.run(
        ["bash", str(IMAGES_SCRIPT), "--print-env"], check=True, capture_output=True, text=True
    ).stdout
    return DockerImages(dict(line.split("=", 1) for line in printed.split()))


@pytest.fixture(scope="session")
def service_image(docker_images: DockerImages) -> str:
    """The HTTP service's image (client/Dockerfile), built (or found cached) by scripts/docker-images.sh."""
    result = subprocess.run(["bash", str(IMAGES_SCRIPT), "service"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"scripts/docker-images.sh service failed:\n{result.stdout}{result.stderr}")
    return docker_images.env["SEOCHO_SERVICE_IMAGE"]


# Below the native test networks' offsets (30000 and up), so a Docker deployment runs beside them.
DOCKER_PORT_OFFSETS = range(21_000, 30_000, 1_000)


@pytest.fixture(scope="module")
def docker_port_offset() -> Iterator[int]:
    """A port offset for the module's deployment: locked against other modules and sessions (the same
    claim the native networks use), its ports free, held until the module is done."""
    with claimed_port_offset(DOCKER_PORT_OFFSETS) as offset:
        yield offset
