#!/usr/bin/env bash
# What the suites need from outside PyPI, installed only when missing and only where we may (root, or
# passwordless sudo); without them the tests skip with the reason, and under CI=true they fail.
#  - Debian packages: a PostgreSQL server (the reporting-store tests start their own on 127.0.0.1 and stop
#    it), Chromium (headless, renders `seocho report --html`), Node.js and npm (tests/interop drives the
#    official @hyperledger/fabric-gateway client; Debian 12's Node 18.20 meets its pinned version's engines),
#    Prometheus (its promtool checks the alerting rules in network/monitoring), chromium-driver and
#    fonts-nanum (the wallet page's browser test and its screenshots).
#  - Go 1.26 (Fabric CA is built from its Go module by scripts/build-fabric.sh, and tests/shim compares our
#    client ids with Go's). Debian 12 has only Go 1.19: it is used once to fetch the official Go toolchain
#    from the Go module proxy (the module golang.org/toolchain, as `go` itself does when a module asks for a
#    newer Go), which is installed in /usr/local/go with `go` and `gofmt` linked into /usr/local/bin.
set -euo pipefail

GO_VERSION=1.26.8

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif sudo -n true 2> /dev/null; then
    as_root=(sudo -n)
else
    as_root=(false)
fi

apt_install() {
    if [ "${as_root[0]:-}" = false ]; then
        echo "install-test-deps: $* missing and no root; the tests that need them will skip" >&2
        return 0
    fi
    echo "install-test-deps: apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" > /dev/null
}

# True when `go` is on PATH and at least $GO_VERSION's minor release (1.26).
go_is_recent() {
    command -v go > /dev/null || return 1
    local have
    have="$(go env GOVERSION 2> /dev/null | sed -E 's/^go//')"
    [ "$(printf '%s\n%s\n' "${GO_VERSION%.*}" "${have%.*}" | sort -V | head -1)" = "${GO_VERSION%.*}" ]
}

install_go() {
    local bootstrap=go
    if ! command -v go > /dev/null; then
        apt_install golang-1.19-go
        bootstrap=/usr/lib/go-1.19/bin/go
    fi
    [ -x "$(command -v "$bootstrap")" ] || return 0
    local work module
    work="$(mktemp -d)"
    echo "install-test-deps: Go $GO_VERSION from the Go module proxy (golang.org/toolchain)"
    module="golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64"
    GOPATH="$work" GOMODCACHE="$work/mod" GOFLAGS=-modcacherw "$bootstrap" mod download "$module"
    # Module zips keep no file modes: the toolchain's programs get their execute bit back, as `go` does.
    chmod +x "$work/mod/$module/bin/"* "$work/mod/$module/pkg/tool/"*/*
    "${as_root[@]}" rm -rf /usr/local/go
    "${as_root[@]}" cp -a "$work/mod/$module" /usr/local/go
    "${as_root[@]}" ln -sf /usr/local/go/bin/go /usr/local/go/bin/gofmt /usr/local/bin/
    rm -rf "$work"
    hash -r
    echo "install-test-deps: $(/usr/local/go/bin/go version)"
}

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v chromium > /dev/null || missing+=(chromium)
command -v promtool > /dev/null || missing+=(prometheus)
# The wallet page test drives Chromium with Selenium through Debian's chromedriver, and Korean glyphs
# in its screenshots need a Korean font.
command -v chromedriver > /dev/null || missing+=(chromium-driver)
[ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
command -v node > /dev/null || missing+=(nodejs)
command -v npm > /dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if ! go_is_recent; then
    if [ "${as_root[0]:-}" = false ]; then
        echo "install-test-deps: Go $GO_VERSION missing and no root; install it from https://go.dev/dl/" >&2
    else
        install_go
    fi
fi
