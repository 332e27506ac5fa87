#!/usr/bin/env bash
# Builds, on a machine that cannot pull from an image registry, the images the Docker deployment needs, and
# the Docker Compose v2 CLI plugin. Idempotent: everything is cached and rebuilt only when its inputs change.
#
#   scripts/docker-images.sh [COMPONENT...]   build COMPONENTs (default: all; compose builds alongside the rest)
#       engine     install docker.io and debootstrap with apt when missing (root only), start dockerd if none
#                  answers (it keeps running; stop it with --stop-dockerd)
#       base       a Debian base image from `debootstrap --variant=minbase`, with the mirror apt uses
#       fabric     stand-ins for hyperledger/fabric-peer and fabric-orderer (each release of FABRIC_VERSIONS,
#                  2.5.16 and 3.1.5) and fabric-ca (1.5.15), with the official images' layout, from the
#                  Fabric releases and the Fabric CA build
#       chaincode  the chaincode image (chaincode/Dockerfile) on Debian's python3, from a host wheelhouse
#       service    the HTTP service's image (client/Dockerfile, `seocho serve`), the same way
#       compose    Docker Compose v2 built from its Go module, as ~/.docker/cli-plugins/docker-compose
#   scripts/docker-images.sh --print-env      print the compose variables that select the local images
#   scripts/docker-images.sh --refresh-base   debootstrap a new base even when one is cached
#   scripts/docker-images.sh --stop-dockerd   stop the dockerd this script (or a test) started, and exit
#   scripts/docker-images.sh -h | --help      show this help
#
# Cache (SEOCHO_DOCKER_CACHE, default ~/.cache/seocho-docker): the base rootfs tarballs, keyed by suite and
# date (debian-bookworm-minbase-YYYYMMDD.tar.gz; the newest is reused), and the Compose build, keyed by
# version. Images carry a label with the hash of their inputs and are skipped when it matches.
set -euo pipefail

readonly SUITE=bookworm
readonly COMPOSE_MODULE=github.com/docker/compose/v2
# Packages the official images have (tzdata) or that the health checks need (wget: Alpine's busybox has it).
readonly BASE_PACKAGES=tzdata,wget
readonly LOCAL_NS=seocho-local

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# FABRIC_VERSION, FABRIC_CA_VERSION, COMPOSE_VERSION
# shellcheck source=../network/versions.env
source "$REPO_ROOT/network/versions.env"
CACHE=${SEOCHO_DOCKER_CACHE:-$HOME/.cache/seocho-docker}
IMAGES_DIR=$REPO_ROOT/network/docker/images
PLUGIN=$HOME/.docker/cli-plugins/docker-compose
WORK=""
trap '[[ -z $WORK ]] || rm -rf "$WORK"' EXIT
# shellcheck source=lib/dockerd.sh
source "$REPO_ROOT/scripts/lib/dockerd.sh"

die() {
    printf 'docker-images: error: %s\n' "$*" >&2
    exit 1
}
progress() { printf 'docker-images: %s\n' "$*"; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
workdir() { [[ -n $WORK ]] || WORK=$(mktemp -d); }

image_label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# inputs_hash FILE... prints one hash over the files' names and contents (what decides a rebuild).
inputs_hash() {
    local file
    for file in "$@"; do
        printf '%s ' "${file##*/}"
        sha256sum <"$file"
    done | sha256sum | cut -c1-16
}

# --- engine --------------------------------------------------------------------------------------------
ensure_engine() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    if ((${#missing[@]} > 0)); then
        [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install them as root (apt-get install ${missing[*]}) \
or run this script as root"
        command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
        progress "installing ${missing[*]} with apt"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    case $(dockerd_start) in
        started) progress "started dockerd (log: $DOCKERD_LOG; stop: $0 --stop-dockerd)" ;;
        already-running) progress "a Docker Engine is running: $(docker version --format '{{.Server.Version}}')" ;;
        *) die "no Docker Engine" ;;
    esac
}

# --- base ----------------------------------------------------------------------------------------------
# The mirror apt is configured with for $SUITE (deb822 .sources or one-line sources.list), so debootstrap
# fetches from the same place as the rest of the machine; deb.debian.org when none names it.
apt_mirror() {
    local file uri
    for file in /etc/apt/sources.list.d/*.sources; do
        [[ -f $file ]] || continue
        uri=$(awk -v suite="$SUITE" '
            /^[[:space:]]*$/ { if (ok && u != "") { print u; exit } ok = 0; u = "" ; next }
            /^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END { if (ok && u != "") print u }' "$file" | grep -v -- '-security' | head -n 1)
        [[ -z $uri ]] || { echo "$uri"; return; }
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $file ]] || continue
        uri=$(awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' "$file")
        [[ -z $uri ]] || { echo "$uri"; return; }
    done
    echo http://deb.debian.org/debian
}

BASE_TAG=""
build_base() {
    mkdir -p "$CACHE"
    local tarball
    tarball=$(find "$CACHE" -maxdepth 1 -name "debian-$SUITE-minbase-*.tar.gz" | sort | tail -n 1)
    if [[ -z $tarball || ${REFRESH_BASE:-no} == yes ]]; then
        command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (run: $0 engine)"
        local mirror started=$SECONDS
        mirror=$(apt_mirror)
        tarball=$CACHE/debian-$SUITE-minbase-$(date -u +%Y%m%d).tar.gz
        workdir
        progress "debootstrap --variant=minbase $SUITE from $mirror (about 40 s)"
        debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$WORK/rootfs" "$mirror" \
            >"$WORK/debootstrap.log" 2>&1 || {
            tail -n 5 "$WORK/debootstrap.log" >&2
            die "debootstrap failed"
        }
        # Smaller image, and no apt lists older than the image's first `apt-get update`.
        rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
        tar --numeric-owner -C "$WORK/rootfs" -czf "$tarball.partial" .
        mv "$tarball.partial" "$tarball"
        rm -rf "$WORK/rootfs"
        progress "base rootfs cached in $tarball ($((SECONDS - started)) s)"
    fi
    local date=${tarball##*-}
    BASE_TAG=$LOCAL_NS/debian:$SUITE-${date%.tar.gz}
    if image_exists "$BASE_TAG"; then
        progress "base image $BASE_TAG exists"
    else
        progress "docker import $tarball as $BASE_TAG"
        docker import --change 'CMD ["bash"]' "$tarball" "$BASE_TAG" >/dev/null
    fi
}

# --- fabric --------------------------------------------------------------------------------------------
# build_image TAG DOCKERFILE CONTEXT HASH [BUILD-ARG...] builds unless TAG carries the same inputs hash.
build_image() {
    local tag=$1 dockerfile=$2 context=$3 hash=$4
    shift 4
    if [[ $(image_label "$tag" org.seocho.inputs) == "$hash" ]]; then
        progress "$tag is up to date"
        return
    fi
    local args=() arg started=$SECONDS
    for arg in "$@"; do args+=(--build-arg "$arg"); done
    progress "building $tag"
    # The classic builder: Debian's engine has no buildx plugin, and these images need nothing BuildKit adds.
    # Its output (and the CLI's notice that it is deprecated) goes to a log shown only on failure.
    workdir
    DOCKER_BUILDKIT=0 docker build --label "org.seocho.inputs=$hash" "${args[@]}" \
        -f "$dockerfile" -t "$tag" "$context" >"$WORK/build.log" 2>&1 || {
        tail -n 15 "$WORK/build.log" >&2
        die "docker build of $tag failed"
    }
    progress "built $tag ($((SECONDS - started)) s)"
}

build_fabric() {
    [[ -n $BASE_TAG ]] || build_base
    local ca base_id version
    "$REPO_ROOT/scripts/install-fabric.sh" | sed 's/^/  /'
    ca=$("$REPO_ROOT/scripts/build-fabric.sh" --print-path ca)
    [[ -x $ca/fabric-ca-server ]] || "$REPO_ROOT/scripts/build-fabric.sh" --ca-only | sed 's/^/  /'
    base_id=$(docker image inspect --format '{{.Id}}' "$BASE_TAG")
    # A peer and an orderer per pinned release: a rolling upgrade runs one node on the new release while
    # the others stay on the old one, so both must be on the host at once.
    for version in $FABRIC_VERSIONS; do
        build_fabric_nodes "$version" "$base_id"
    done
    workdir
    local ctx=$WORK/ca-ctx dockerfile hash
    mkdir -p "$ctx/bin"
    cp "$ca"/fabric-ca-{server,client} "$ctx/bin/"
    dockerfile=$IMAGES_DIR/fabric-ca/Dockerfile
    hash=$(inputs_hash "$dockerfile" "$ctx"/bin/fabric-ca-* <(echo "$base_id"))
    build_image "$LOCAL_NS/fabric-ca:$FABRIC_CA_VERSION" "$dockerfile" "$ctx" "$hash" \
        "BASE_IMAGE=$BASE_TAG" "FABRIC_CA_VERSION=$FABRIC_CA_VERSION"
}

# build_fabric_nodes VERSION BASE_ID builds $LOCAL_NS/fabric-peer:VERSION and fabric-orderer:VERSION from
# that release's programs, sample configs and ccaas builder.
build_fabric_nodes() {
    local version=$1 base_id=$2 fabric
    fabric=$("$REPO_ROOT/scripts/install-fabric.sh" --print-path "$version")
    workdir
    # Contexts hold only what each image copies (hard links where possible: no 100 MB copies).
    local ctx=$WORK/fabric-$version-ctx
    mkdir -p "$ctx/bin" "$ctx/config" "$ctx/builders"
    cp -l "$fabric"/bin/{peer,orderer} "$ctx/bin/" 2>/dev/null || cp "$fabric"/bin/{peer,orderer} "$ctx/bin/"
    cp "$fabric"/config/{core,orderer,configtx}.yaml "$ctx/config/"
    cp -r "$fabric/builders/ccaas" "$ctx/builders/"
    local name dockerfile hash
    for name in peer orderer; do
        dockerfile=$IMAGES_DIR/fabric-$name/Dockerfile
        hash=$(inputs_hash "$dockerfile" "$ctx/bin/$name" "$ctx"/config/*.yaml "$ctx"/builders/ccaas/bin/* \
            <(echo "$base_id"))
        build_image "$LOCAL_NS/fabric-$name:$version" "$dockerfile" "$ctx" "$hash" \
            "BASE_IMAGE=$BASE_TAG" "FABRIC_VERSION=$version"
    done
}

# --- chaincode -----------------------------------------------------------------------------------------
project_version() { sed -n 's/^version = "\(.*\)"/\1/p' "$REPO_ROOT/pyproject.toml" | head -n 1; }

build_chaincode() { build_wheel_image chaincode "$REPO_ROOT/chaincode/Dockerfile"; }

# The HTTP service's image (client/Dockerfile): the same wheelhouse, `seocho serve` as its entry point.
build_service() { build_wheel_image service "$REPO_ROOT/client/Dockerfile"; }

# build_wheel_image NAME DOCKERFILE builds $LOCAL_NS/NAME:<version> on Debian's python3 from a host wheelhouse.
build_wheel_image() {
    local name=$1 dockerfile=$2
    [[ -n $BASE_TAG ]] || build_base
    local python_tag=$LOCAL_NS/python:3.11-$SUITE base_id hash
    base_id=$(docker image inspect --format '{{.Id}}' "$BASE_TAG")
    build_image "$python_tag" "$IMAGES_DIR/python/Dockerfile" "$IMAGES_DIR/python" \
        "$(inputs_hash "$IMAGES_DIR/python/Dockerfile" <(echo "$base_id"))" "BASE_IMAGE=$BASE_TAG"

    # What goes into the wheel decides a rebuild: the packaging files and every source file, and for the
    # service its package data too (the OpenAPI document and the wallet page it serves).
    local tag sources data=(-false)
    tag=$LOCAL_NS/$name:$(project_version)
    [[ $name != service ]] || data=(-path client/seocho_http/openapi.json -o -path 'client/seocho_http/wallet/*')
    mapfile -t sources < <(cd "$REPO_ROOT" && find chaincode client -type f \( -name '*.py' -o -name py.typed -o -name '*.po' \
        -o "${data[@]}" \) -not -path '*/__pycache__/*' | LC_ALL=C sort)
    hash=$(cd "$REPO_ROOT" && inputs_hash "${dockerfile#"$REPO_ROOT"/}" pyproject.toml setup.py "${sources[@]}" \
        <(docker image inspect --format '{{.Id}}' "$python_tag"))
    if [[ $(image_label "$tag" org.seocho.inputs) == "$hash" ]]; then
        progress "$tag is up to date"
        return
    fi
    workdir
    # The wheelhouse is built on the host: inside a container only Debian's mirror is reachable. The
    # image's Python is 3.11, so the host's must be too (binary wheels such as grpcio are per version).
    local python=${PYTHON:-python3}
    [[ -x $REPO_ROOT/.venv/bin/python ]] && python=$REPO_ROOT/.venv/bin/python
    "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
        die "the wheelhouse needs a Python 3.11 on the host (the image's), got $("$python" --version)"
    progress "building the wheelhouse with $("$python" --version)"
    # A copy of the sources, so the build leaves no build/ or *.egg-info in the checkout.
    rm -rf "$WORK/src" "$WORK/$name-ctx"
    mkdir -p "$WORK/src"
    (cd "$REPO_ROOT" && cp -r --parents pyproject.toml setup.py README.md "${sources[@]}" "$WORK/src/")
    "$python" -m pip wheel --wheel-dir "$WORK/$name-ctx/wheels" "$WORK/src" >"$WORK/wheel.log" 2>&1 || {
        tail -n 15 "$WORK/wheel.log" >&2
        die "pip wheel failed"
    }
    build_image "$tag" "$dockerfile" "$WORK/$name-ctx" "$hash" "PYTHON_IMAGE=$python_tag"
}

# --- compose -------------------------------------------------------------------------------------------
build_compose() {
    if [[ -x $PLUGIN ]] && "$PLUGIN" version --short 2>/dev/null | grep -qx "${COMPOSE_VERSION#v}"; then
        progress "Docker Compose ${COMPOSE_VERSION#v} is installed: $PLUGIN"
        return
    fi
    local cached=$CACHE/compose-$COMPOSE_VERSION/docker-compose
    if [[ ! -x $cached ]]; then
        command -v go >/dev/null 2>&1 || die "building Docker Compose needs Go (https://go.dev/dl/); or \
install Debian's docker-compose and set SEOCHO_COMPOSE='docker-compose'"
        local dir started=$SECONDS
        progress "downloading $COMPOSE_MODULE@$COMPOSE_VERSION"
        dir=$(go mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
        [[ -d $dir ]] || die "go mod download $COMPOSE_MODULE@$COMPOSE_VERSION gave no module directory"
        progress "building Docker Compose $COMPOSE_VERSION (about 4 min on 2 cores, once per machine)"
        mkdir -p "${cached%/*}"
        # As the project's Makefile builds it: static, trimmed, with the version stamped in.
        (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
            -ldflags "-w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -o "$cached.partial" ./cmd)
        mv "$cached.partial" "$cached"
        progress "built Docker Compose in $((SECONDS - started)) s"
    fi
    mkdir -p "${PLUGIN%/*}"
    cp "$cached" "$PLUGIN.partial" && mv "$PLUGIN.partial" "$PLUGIN"
    progress "installed $PLUGIN ($("$PLUGIN" version --short))"
}

# The compose variables: FABRIC_PEER_IMAGE/FABRIC_ORDERER_IMAGE for the nodes on FABRIC_VERSION, and
# FABRIC_PEER_IMAGE_<V>/FABRIC_ORDERER_IMAGE_<V> (dots as underscores) for those on another pinned release V
# (network/seocho_network/compose_render.py names them the same way).
print_env() {
    local version suffix
    echo "FABRIC_PEER_IMAGE=$LOCAL_NS/fabric-peer:$FABRIC_VERSION"
    echo "FABRIC_ORDERER_IMAGE=$LOCAL_NS/fabric-orderer:$FABRIC_VERSION"
    for version in $FABRIC_VERSIONS; do
        [[ $version != "$FABRIC_VERSION" ]] || continue
        suffix=${version//./_}
        echo "FABRIC_PEER_IMAGE_$suffix=$LOCAL_NS/fabric-peer:$version"
        echo "FABRIC_ORDERER_IMAGE_$suffix=$LOCAL_NS/fabric-orderer:$version"
    done
    echo "FABRIC_CA_IMAGE=$LOCAL_NS/fabric-ca:$FABRIC_CA_VERSION"
    echo "SEOCHO_CHAINCODE_IMAGE=$LOCAL_NS/chaincode:$(project_version)"
    echo "SEOCHO_SERVICE_IMAGE=$LOCAL_NS/service:$(project_version)"
}

main() {
    local components=()
    while (($# > 0)); do
        case $1 in
            -h | --help) usage; return 0 ;;
            --print-env) print_env; return 0 ;;
            --stop-dockerd) dockerd_stop; return 0 ;;
            --refresh-base) REFRESH_BASE=yes ;;
            engine | base | fabric | chaincode | service | compose) components+=("$1") ;;
            *) die "unknown argument '$1' (see --help)" ;;
        esac
        shift
    done
    ((${#components[@]} > 0)) || components=(engine compose base fabric chaincode service)
    local component compose_pid="" compose_log=""
    for component in "${components[@]}"; do
        [[ $component == engine || $component == compose ]] || dockerd_status ||
            die "no Docker Engine answers; run: $0 engine"
        case $component in
            engine) ensure_engine ;;
            compose)
                # Compiling Compose takes the CPUs while debootstrap and the image builds mostly wait on
                # the network and the disk: run it alongside them.
                mkdir -p "$CACHE"
                compose_log=$(mktemp "$CACHE/compose-build.XXXXXX")
                build_compose >"$compose_log" 2>&1 &
                compose_pid=$!
                ;;
            *) "build_$component" ;;
        esac
    done
    if [[ -n $compose_pid ]]; then
        local status=0
        wait "$compose_pid" || status=$?
        cat "$compose_log"
        rm -f "$compose_log"
        ((status == 0)) || die "building Docker Compose failed (see above)"
    fi
    progress "ready"
}

main "$@"
