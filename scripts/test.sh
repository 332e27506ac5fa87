#!/usr/bin/env bash
# The project's test command (README and CI run exactly this).
# Sets up .venv, builds Fabric CA and installs the Fabric release, runs the linters, then every test
# (including the slow ones marked `fabric`). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
# Before build-fabric.sh, which needs the Go toolchain it installs when missing.
scripts/install-test-deps.sh
scripts/build-fabric.sh

echo "test: ruff"
.venv/bin/ruff check .
echo "test: mypy"
.venv/bin/mypy chaincode client network
# The `docker` tests (tests/docker) get their own prerequisites: as root they install docker.io and
# debootstrap, start dockerd if none runs (and stop it after), and build the images and Compose with
# scripts/docker-images.sh (cached in ~/.cache/seocho-docker; 6-8 min on a fresh machine, seconds after).
# Without root and Docker they skip, except under CI=true, where they fail.
echo "test: pytest"
.venv/bin/python -m pytest "$@"
# The session network runs the topology's release (2.5.16) ordered by Raft. A full run also keeps the newer
# release and the other consensus true: a second, small session on Fabric 3.1.5 ordered by SmartBFT (4
# orderers), where the peer offers batched calls (V3_0 channel capability); a BFT follower and the BFT
# view leader are SIGKILLed under load there (tests/faults/test_bft_faults.py).
if [ $# -eq 0 ]; then
    echo "test: pytest on Fabric 3.1.5 with BFT ordering (batched calls, the demo, endorsement, BFT faults)"
    SEOCHO_FABRIC_VERSION=3.1.5 SEOCHO_ORDERER_TYPE=bft .venv/bin/python -m pytest -m fabric \
        tests/shim/test_batching_on_fabric.py tests/network/test_network.py tests/network/test_bft.py \
        tests/faults/test_bft_faults.py -k "batch or demo or agree or endorsed_by_one or bft"
fi
