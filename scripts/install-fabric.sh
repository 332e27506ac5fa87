#!/usr/bin/env bash
# Installs the pinned Hyperledger Fabric release (peer, orderer, configtxgen, osnadmin, ..., the sample
# configs and the chaincode-as-a-service builder) into a cache outside the repository, once per machine.
#
#   scripts/install-fabric.sh                 install Fabric 2.5.16 unless it is already installed
#   scripts/install-fabric.sh --print-path    print the installed release's directory and exit
#   scripts/install-fabric.sh -h | --help     show this help
#
# Where the release comes from, in this order:
#   FABRIC_RELEASE=PATH   an official release archive (hyperledger-fabric-linux-amd64-2.5.16.tar.gz, from
#                         Fabric's GitHub release page) or the folder it unpacks to (bin/, config/, builders/)
#   ../shared/fabric/     the team's copy (hyperledger-fabric-linux-amd64-2.5.16.tar.xz), checked against
#                         its SHA256SUMS first
#
# Layout (SEOCHO_FABRIC_CACHE defaults to ~/.cache/seocho-fabric):
#   $SEOCHO_FABRIC_CACHE/fabric-2.5.16/bin/{peer,orderer,configtxgen,osnadmin,...}
#   $SEOCHO_FABRIC_CACHE/fabric-2.5.16/config/{core,orderer,configtx}.yaml
#   $SEOCHO_FABRIC_CACHE/fabric-2.5.16/builders/ccaas/bin/{detect,build,release}
set -euo pipefail

readonly FABRIC_VERSION=2.5.16
readonly REQUIRED_FILES=(bin/peer bin/orderer bin/configtxgen bin/osnadmin config/core.yaml
    config/orderer.yaml builders/ccaas/bin/detect builders/ccaas/bin/build builders/ccaas/bin/release)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DIR=$(cd "$REPO_ROOT/.." && pwd)/shared/fabric
SHARED_ARCHIVE=$SHARED_DIR/hyperledger-fabric-linux-amd64-$FABRIC_VERSION.tar.xz
CACHE_ROOT=${SEOCHO_FABRIC_CACHE:-$HOME/.cache/seocho-fabric}
INSTALL_DIR=$CACHE_ROOT/fabric-$FABRIC_VERSION
STAGING=""
trap '[[ -z $STAGING ]] || rm -rf "$STAGING"' EXIT

die() {
    printf 'install-fabric: error: %s\n' "$*" >&2
    exit 1
}

progress() {
    printf 'install-fabric: %s\n' "$*"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# complete DIR succeeds when DIR holds every file the network needs.
complete() {
    local file
    for file in "${REQUIRED_FILES[@]}"; do
        [[ -e $1/$file ]] || return 1
    done
}

# release_root DIR prints the directory under DIR that holds bin/peer (archives differ in their top level).
release_root() {
    local peer
    peer=$(find "$1" -maxdepth 3 -path '*/bin/peer' -type f | head -n 1)
    [[ -n $peer ]] || return 1
    dirname "$(dirname "$peer")"
}

check_version() {
    local printed
    printed=$("$1/bin/peer" version 2>&1) || die "$1/bin/peer does not run on this machine: $printed"
    grep -q "Version: $FABRIC_VERSION\$" <<<"$printed" ||
        die "$1 holds another Fabric release than $FABRIC_VERSION: $(grep Version: <<<"$printed" | head -n 1)"
}

# unpack SOURCE STAGING puts the release from SOURCE (archive or folder) under STAGING.
unpack() {
    local source=$1 staging=$2
    if [[ -d $source ]]; then
        cp -a "$source/." "$staging/"
    else
        case $source in
            *.tar.xz | *.txz) tar -xJf "$source" -C "$staging" ;;
            *.tar.gz | *.tgz) tar -xzf "$source" -C "$staging" ;;
            *) die "FABRIC_RELEASE=$source is neither a folder nor a .tar.gz/.tar.xz release archive" ;;
        esac
    fi
}

main() {
    case ${1:-} in
        --print-path)
            printf '%s\n' "$INSTALL_DIR"
            return 0
            ;;
        -h | --help)
            usage
            return 0
            ;;
        "") ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac

    if complete "$INSTALL_DIR"; then
        progress "Fabric $FABRIC_VERSION is already installed in $INSTALL_DIR"
        return 0
    fi

    local source
    if [[ -n ${FABRIC_RELEASE:-} ]]; then
        [[ -e $FABRIC_RELEASE ]] || die "FABRIC_RELEASE=$FABRIC_RELEASE does not exist"
        source=$FABRIC_RELEASE
    elif [[ -f $SHARED_ARCHIVE ]]; then
        progress "checking $SHARED_ARCHIVE against SHA256SUMS"
        (cd "$SHARED_DIR" && sha256sum --check --quiet --ignore-missing SHA256SUMS) ||
            die "$SHARED_ARCHIVE does not match $SHARED_DIR/SHA256SUMS; fetch it again"
        grep -q "$(basename "$SHARED_ARCHIVE")" "$SHARED_DIR/SHA256SUMS" ||
            die "$SHARED_DIR/SHA256SUMS lists no checksum for $(basename "$SHARED_ARCHIVE")"
        source=$SHARED_ARCHIVE
    else
        die "no Fabric $FABRIC_VERSION release found: set FABRIC_RELEASE to the official release archive \
(hyperledger-fabric-linux-amd64-$FABRIC_VERSION.tar.gz) or its unpacked folder, or put the team's copy in $SHARED_DIR"
    fi

    mkdir -p "$CACHE_ROOT"
    STAGING=$(mktemp -d "$CACHE_ROOT/.fabric-install.XXXXXX")
    progress "unpacking $source (a few seconds)"
    unpack "$source" "$STAGING"
    local root
    root=$(release_root "$STAGING") || die "$source holds no bin/peer: not a Fabric release"
    complete "$root" || die "$source lacks some of: ${REQUIRED_FILES[*]}"
    check_version "$root"
    # Moved into place whole, so an interrupted install never looks complete.
    rm -rf "$INSTALL_DIR"
    mv "$root" "$INSTALL_DIR"
    progress "Fabric $FABRIC_VERSION installed in $INSTALL_DIR"
}

main "$@"
