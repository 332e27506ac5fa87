#!/usr/bin/env bash
# The project's test command (README and CI run exactly this).
# Sets up .venv, builds Fabric CA and installs the Fabric release, runs the linters, then every test
# (including the slow ones marked `fabric`). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/build-fabric.sh
scripts/install-test-deps.sh

echo "test: ruff"
.venv/bin/ruff check .
echo "test: mypy"
.venv/bin/mypy chaincode client network
echo "test: pytest"
exec .venv/bin/python -m pytest "$@"
