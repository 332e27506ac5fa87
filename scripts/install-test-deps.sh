#!/usr/bin/env bash
# What the reporting-store and chart tests need from Debian: a PostgreSQL server (the tests start their
# own on 127.0.0.1 and stop it) and Chromium (headless, to render `seocho report --html`). Installed only
# when missing, and only where we may (root, or passwordless sudo); the tests skip otherwise, and fail
# when CI=true.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v chromium > /dev/null || missing+=(chromium)
# The wallet page test drives Chromium with Selenium through Debian's chromedriver.
command -v chromedriver > /dev/null || missing+=(chromium-driver)
# Korean glyphs in its screenshots.
[ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
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
