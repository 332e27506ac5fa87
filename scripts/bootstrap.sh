#!/usr/bin/env bash
# Set up a development environment: a virtualenv in .venv with the project and its dev tools.
# Idempotent and quick when nothing changed; safe to run on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "bootstrap: $PYTHON not found; install Python 3.11 or newer (or set PYTHON=...)" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: Python 3.11 or newer is required, found $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$PYTHON" -m venv .venv
fi

# Runs "$@" with its output kept in $1 (printed only if it fails), saying every 5 s what it is doing.
run_with_progress() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    local pid=$! start=$SECONDS next=5 step
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if [ $((SECONDS - start)) -ge "$next" ] && kill -0 "$pid" 2>/dev/null; then
            step="$(grep -E '^ *(Collecting|Downloading|Building|Installing|Preparing)' "$log" | tail -1 \
                | sed -E 's/^ +//; s/ \(.*//' | cut -c1-60 || true)"
            echo "bootstrap:   ${step:-working} ($((SECONDS - start)) s)"
            next=$((next + 5))
        fi
    done
    if ! wait "$pid"; then
        echo "bootstrap: failed: $*; the end of $log:" >&2
        tail -n 25 "$log" >&2
        return 1
    fi
}

# Reinstall only when the packaging files or the message catalogues (compiled at install) changed.
stamp=.venv/.seocho-installed
want="$(cat pyproject.toml setup.py client/seocho/locale/*/LC_MESSAGES/*.po 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: installing seocho-coin into .venv from PyPI: grpcio, protobuf, cryptography, click,"
    echo "bootstrap:   PyYAML, Babel, and the dev tools pytest, hypothesis, ruff, mypy (about 30 s the first"
    echo "bootstrap:   time on 2 CPUs, a few seconds later; pip's output goes to .venv/pip-install.log)"
    run_with_progress .venv/pip-install.log .venv/bin/python -m pip install --disable-pip-version-check \
        --upgrade pip
    run_with_progress .venv/pip-install.log .venv/bin/python -m pip install --disable-pip-version-check \
        -e '.[dev]'
    echo "$want" > "$stamp"
fi
echo "bootstrap: ready (.venv/bin/seocho, .venv/bin/pytest)"
