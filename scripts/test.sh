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
exec .venv/bin/python -m pytest "$@"
