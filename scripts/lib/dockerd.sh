#!/usr/bin/env bash
# shellcheck shell=bash
# Starts and stops a Docker Engine for this project's scripts and tests, and only ever stops one it started.
#
#   scripts/lib/dockerd.sh status   exit 0 when a Docker Engine answers, 1 otherwise
#   scripts/lib/dockerd.sh start    start dockerd in the background unless one answers already; prints
#                                   "started" or "already-running" on stdout
#   scripts/lib/dockerd.sh stop     stop the dockerd that `start` started (no-op otherwise)
#
# Also sourced by scripts/docker-images.sh (functions dockerd_*). Why a marker file: a developer's own
# Docker Engine (systemd's, Docker Desktop's) must never be stopped by a test run, so `stop` acts only on
# the PID that `start` recorded, and only while that PID is still a dockerd.
#
# dockerd is started with --ip 127.0.0.1 so that a published port without an explicit address binds to
# loopback only; the compose files also name 127.0.0.1 explicitly. Its log goes to $SEOCHO_DOCKER_CACHE.
set -euo pipefail

DOCKERD_CACHE=${SEOCHO_DOCKER_CACHE:-$HOME/.cache/seocho-docker}
DOCKERD_MARKER=$DOCKERD_CACHE/dockerd.started-by-seocho
DOCKERD_LOG=$DOCKERD_CACHE/dockerd.log

# A docker CLI that talks to the engine. Debian's docker.io ships /usr/bin/docker; a newer CLI elsewhere on
# PATH works too (it negotiates the API version), so take whatever `docker` resolves to.
dockerd_cli() {
    command -v docker 2>/dev/null || true
}

dockerd_status() {
    local cli
    cli=$(dockerd_cli)
    [[ -n $cli ]] && "$cli" info >/dev/null 2>&1
}

dockerd_start() {
    if dockerd_status; then
        echo already-running
        return 0
    fi
    command -v dockerd >/dev/null 2>&1 || {
        echo "dockerd: no dockerd on PATH; install Docker (apt-get install docker.io) first" >&2
        return 1
    }
    [[ $(id -u) == 0 ]] || {
        echo "dockerd: starting a Docker Engine needs root; run as root or start Docker yourself" >&2
        return 1
    }
    mkdir -p "$DOCKERD_CACHE"
    # setsid: the engine must outlive the shell that started it (a test fixture's subprocess).
    setsid dockerd --ip 127.0.0.1 >>"$DOCKERD_LOG" 2>&1 </dev/null &
    local pid=$! waited=0
    echo "$pid" >"$DOCKERD_MARKER"
    until dockerd_status; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$DOCKERD_MARKER"
            echo "dockerd: the engine exited at start; see $DOCKERD_LOG" >&2
            tail -n 5 "$DOCKERD_LOG" >&2 || true
            return 1
        fi
        ((waited++ < 60)) || {
            echo "dockerd: no answer after 30 s; see $DOCKERD_LOG" >&2
            return 1
        }
        sleep 0.5
    done
    echo started
}

dockerd_stop() {
    [[ -f $DOCKERD_MARKER ]] || return 0
    local pid waited=0
    pid=$(cat "$DOCKERD_MARKER")
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]; then
        kill -TERM "$pid"
        # dockerd stops its containers first (10 s grace each by default), then containerd.
        while kill -0 "$pid" 2>/dev/null && ((waited++ < 120)); do
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "dockerd: pid $pid did not stop within 60 s" >&2
            return 1
        fi
    fi
    rm -f "$DOCKERD_MARKER"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case ${1:-} in
        status) dockerd_status ;;
        start) dockerd_start ;;
        stop) dockerd_stop ;;
        *)
            sed -n '3,9{s/^# \{0,1\}//;p}' "$0" >&2
            exit 2
            ;;
    esac
fi
