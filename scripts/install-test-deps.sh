#!/usr/bin/env bash
# What the reporting-store, chart and monitoring tests need from Debian: a PostgreSQL server (the tests
# start their own on 127.0.0.1 and stop it), Chromium (headless, to render `seocho report --html`) and
# Prometheus (its promtool checks the alerting rules; the monitoring tests run a Prometheus of their own). Installed only
# when missing, and only where we may (root, or passwordless sudo); the tests skip otherwise, and fail
# when CI=true.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v chromium > /dev/null || missing+=(chromium)
command -v promtool > /dev/null || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif sudo -n true 2> /dev/null; then
    as_root=(sudo -n)
else
    echo "install-test-deps: ${missing[*]} missing and no root; those tests will skip" >&2
    exit 0
fi
echo "install-test-deps: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
