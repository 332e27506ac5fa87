#!/usr/bin/env bash
# Gets the pinned Hyperledger Fabric binaries into a cache outside the repository, once per machine:
# Fabric CA is built from its Go module; Fabric itself (peer, orderer, ...) is installed from its release
# archive by scripts/install-fabric.sh (the Go module proxy refuses Fabric's own modules).
#
#   scripts/build-fabric.sh                 build Fabric CA and install Fabric
#   scripts/build-fabric.sh --ca-only       build only Fabric CA
#   scripts/build-fabric.sh --print-path ca print where a component is (ca | fabric | builder) and exit
#   scripts/build-fabric.sh -h | --help    show this help
#
# Layout (SEOCHO_FABRIC_CACHE defaults to ~/.cache/seocho-fabric):
#   $SEOCHO_FABRIC_CACHE/ca-<version>/bin/{fabric-ca-server,fabric-ca-client}
#   $SEOCHO_FABRIC_CACHE/fabric-<version>/bin/{peer,orderer,configtxgen,osnadmin,...}
#   $SEOCHO_FABRIC_CACHE/fabric-<version>/builders/ccaas/bin/{detect,build,release}   (the ccaas builder;
#       the peer's chaincode.externalBuilders path is the "builders/ccaas" directory)
set -euo pipefail

# --- Pins (the versions themselves: network/versions.env) ------------------------------------------
readonly FABRIC_CA_MODULE=github.com/hyperledger/fabric-ca
readonly FABRIC_CA_COMMANDS=(fabric-ca-server fabric-ca-client)
# ----------------------------------------------------------------------------------------------------

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../network/versions.env
source "$SCRIPT_DIR/../network/versions.env"
# shellcheck source=lib/go-module-build.sh
source "$SCRIPT_DIR/lib/go-module-build.sh"

CACHE_ROOT=${SEOCHO_FABRIC_CACHE:-$HOME/.cache/seocho-fabric}
CA_BIN_DIR=$CACHE_ROOT/ca-$FABRIC_CA_VERSION/bin
FABRIC_DIR=$(SEOCHO_FABRIC_CACHE=$CACHE_ROOT "$SCRIPT_DIR/install-fabric.sh" --print-path)
FABRIC_BIN_DIR=$FABRIC_DIR/bin
BUILDER_DIR=$FABRIC_DIR/builders/ccaas

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

print_path() {
    case ${1:-} in
        ca) printf '%s\n' "$CA_BIN_DIR" ;;
        fabric) printf '%s\n' "$FABRIC_BIN_DIR" ;;
        builder) printf '%s\n' "$BUILDER_DIR" ;;
        *) die "--print-path takes one of: ca, fabric, builder (got '${1:-}')" ;;
    esac
}

# build_missing MODULE VERSION BIN_DIR PACKAGE_PREFIX NAME... builds the NAMEs not yet in BIN_DIR.
build_missing() {
    local module=$1 version=$2 bin_dir=$3 prefix=$4
    shift 4
    local name packages=()
    for name in "$@"; do
        if [[ -x $bin_dir/$name ]]; then
            progress "$name is already built: $bin_dir/$name"
        else
            packages+=("$prefix/$name")
        fi
    done
    ((${#packages[@]} > 0)) || return 0
    build_go_commands "$module" "$version" "$bin_dir" "${packages[@]}"
}

main() {
    local ca_only=no
    while (($# > 0)); do
        case $1 in
            --ca-only) ca_only=yes ;;
            --print-path)
                print_path "${2:-}"
                return 0
                ;;
            -h | --help)
                usage
                return 0
                ;;
            *) die "unknown argument '$1' (see --help)" ;;
        esac
        shift
    done

    require_go_toolchain yes
    progress "cache: $CACHE_ROOT ($(go version))"
    BUILD_WORK_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/seocho-fabric-build.XXXXXX")
    trap 'rm -rf "$BUILD_WORK_ROOT"' EXIT

    build_missing "$FABRIC_CA_MODULE" "v$FABRIC_CA_VERSION" "$CA_BIN_DIR" \
        "$FABRIC_CA_MODULE/cmd" "${FABRIC_CA_COMMANDS[@]}" || exit 1
    progress "Fabric CA $FABRIC_CA_VERSION ready in $CA_BIN_DIR"
    [[ $ca_only == yes ]] && return 0

    SEOCHO_FABRIC_CACHE=$CACHE_ROOT "$SCRIPT_DIR/install-fabric.sh"
}

main "$@"
