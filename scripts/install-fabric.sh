#!/usr/bin/env bash
# Installs the pinned Hyperledger Fabric releases (peer, orderer, configtxgen, osnadmin, ..., the sample
# configs and the chaincode-as-a-service builder) into a cache outside the repository, once per machine.
# The versions are pinned in network/versions.env (FABRIC_VERSION, the default; FABRIC_VERSIONS, all).
#
#   scripts/install-fabric.sh                       install every pinned release not yet installed
#   scripts/install-fabric.sh --version V           install only release V (one of FABRIC_VERSIONS)
#   scripts/install-fabric.sh --print-path [V]      print release V's directory (default FABRIC_VERSION)
#   scripts/install-fabric.sh -h | --help           show this help
#
# Where a release comes from, in this order:
#   FABRIC_RELEASE=PATH   an official release archive (hyperledger-fabric-linux-amd64-V.tar.gz, from
#                         Fabric's GitHub release page) or the folder it unpacks to (bin/, config/, builders/);
#                         it stands for the release it holds (its `peer version`), the others come from:
#   ../shared/fabric/     the team's copies (hyperledger-fabric-linux-amd64-V.tar.xz), checked against
#                         its SHA256SUMS first
#
# Layout (SEOCHO_FABRIC_CACHE defaults to ~/.cache/seocho-fabric):
#   $SEOCHO_FABRIC_CACHE/fabric-V/bin/{peer,orderer,configtxgen,osnadmin,...}
#   $SEOCHO_FABRIC_CACHE/fabric-V/config/{core,orderer,configtx}.yaml
#   $SEOCHO_FABRIC_CACHE/fabric-V/builders/ccaas/bin/{detect,build,release}
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../network/versions.env
source "$REPO_ROOT/network/versions.env"
readonly REQUIRED_FILES=(bin/peer bin/orderer bin/configtxgen bin/osnadmin config/core.yaml
    config/orderer.yaml builders/ccaas/bin/detect builders/ccaas/bin/build builders/ccaas/bin/release)

SHARED_DIR=$(cd "$REPO_ROOT/.." && pwd)/shared/fabric
CACHE_ROOT=${SEOCHO_FABRIC_CACHE:-$HOME/.cache/seocho-fabric}
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

# release_version DIR prints the version of the release in DIR, from its own `peer version`.
release_version() {
    local printed
    printed=$("$1/bin/peer" version 2>&1) || die "$1/bin/peer does not run on this machine: $printed"
    sed -n 's/^ *Version: *//p' <<<"$printed" | head -n 1
}

pinned() {
    local v
    for v in $FABRIC_VERSIONS; do [[ $v == "$1" ]] && return 0; done
    return 1
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

# install VERSION [SOURCE] installs release VERSION from SOURCE (default: the team's copy).
install() {
    local version=$1 source=${2:-}
    local install_dir=$CACHE_ROOT/fabric-$version
    if complete "$install_dir"; then
        progress "Fabric $version is already installed in $install_dir"
        return 0
    fi
    if [[ -z $source ]]; then
        local archive=$SHARED_DIR/hyperledger-fabric-linux-amd64-$version.tar.xz
        [[ -f $archive ]] || die "no Fabric $version release found: set FABRIC_RELEASE to the official \
release archive (hyperledger-fabric-linux-amd64-$version.tar.gz) or its unpacked folder, or put the team's copy in $SHARED_DIR"
        progress "checking $archive against SHA256SUMS"
        grep -q "$(basename "$archive")" "$SHARED_DIR/SHA256SUMS" ||
            die "$SHARED_DIR/SHA256SUMS lists no checksum for $(basename "$archive")"
        (cd "$SHARED_DIR" && grep " $(basename "$archive")\$" SHA256SUMS | sha256sum --check --quiet) ||
            die "$archive does not match $SHARED_DIR/SHA256SUMS; fetch it again"
        source=$archive
    fi
    mkdir -p "$CACHE_ROOT"
    STAGING=$(mktemp -d "$CACHE_ROOT/.fabric-install.XXXXXX")
    progress "unpacking $source (a few seconds)"
    unpack "$source" "$STAGING"
    local root found
    root=$(release_root "$STAGING") || die "$source holds no bin/peer: not a Fabric release"
    complete "$root" || die "$source lacks some of: ${REQUIRED_FILES[*]}"
    found=$(release_version "$root")
    [[ $found == "$version" ]] || die "$source holds Fabric $found, not $version"
    # Moved into place whole, so an interrupted install never looks complete.
    rm -rf "$install_dir"
    mv "$root" "$install_dir"
    rm -rf "$STAGING"
    STAGING=""
    progress "Fabric $version installed in $install_dir"
}

main() {
    local only=""
    case ${1:-} in
        --print-path)
            printf '%s\n' "$CACHE_ROOT/fabric-${2:-$FABRIC_VERSION}"
            return 0
            ;;
        --version)
            only=${2:-}
            pinned "$only" || die "--version takes one of the pinned releases: $FABRIC_VERSIONS"
            ;;
        -h | --help)
            usage
            return 0
            ;;
        "") ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac

    local from_release="" release_of=""
    if [[ -n ${FABRIC_RELEASE:-} ]]; then
        [[ -e $FABRIC_RELEASE ]] || die "FABRIC_RELEASE=$FABRIC_RELEASE does not exist"
        from_release=$FABRIC_RELEASE
        # Which release it holds decides where it goes; the others still come from the team's copies.
        STAGING=$(mktemp -d "${TMPDIR:-/tmp}/fabric-peek.XXXXXX")
        unpack "$from_release" "$STAGING"
        local peek
        peek=$(release_root "$STAGING") || die "$from_release holds no bin/peer: not a Fabric release"
        release_of=$(release_version "$peek")
        rm -rf "$STAGING"
        STAGING=""
        pinned "$release_of" || die "FABRIC_RELEASE holds Fabric $release_of, not one of: $FABRIC_VERSIONS"
    fi
    local version
    for version in ${only:-$FABRIC_VERSIONS}; do
        if [[ $version == "$release_of" ]]; then
            install "$version" "$from_release"
        else
            install "$version"
        fi
    done
}

main "$@"
