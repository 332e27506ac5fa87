# shellcheck shell=bash
# Helpers for building Go commands from published modules at pinned versions.
#
# Sourced by scripts/build-fabric.sh. Why a throw-away "tools" module instead of `go install pkg@version`:
# `go install pkg@version` also asks the module proxy for the module's version list (to report
# deprecations), and the proxy refuses that list for some modules even when it serves the pinned
# version itself. Requiring the pinned version in a local module only fetches what the build needs.

# Prints a message on stderr and exits non-zero.
die() {
    printf 'build-fabric: error: %s\n' "$*" >&2
    exit 1
}

# Prints one progress line on stdout.
progress() {
    printf 'build-fabric: %s\n' "$*"
}

# Fails with an explanation when the Go toolchain or the C compiler cgo needs is missing.
require_go_toolchain() {
    local needs_cgo=$1
    command -v go >/dev/null 2>&1 || die "the 'go' command is not on PATH. Install Go 1.26 or newer \
(https://go.dev/dl/) and run this script again; it builds the Fabric binaries from their Go modules."
    if [[ $needs_cgo == yes ]]; then
        [[ $(go env CGO_ENABLED) == 1 ]] || die "cgo is disabled (go env CGO_ENABLED=0), but Fabric CA \
needs it. Install a C compiler (e.g. gcc) and unset CGO_ENABLED."
        local compiler
        compiler=$(go env CC)
        command -v "${compiler%% *}" >/dev/null 2>&1 || die "Fabric CA needs cgo, but the C compiler \
'$compiler' (go env CC) is not on PATH. Install gcc (e.g. apt-get install gcc)."
    fi
}

# Prints the last meaningful lines of a go command's log, indented, for quoting in an error message.
quote_go_error() {
    local log=$1
    grep -v '^go: downloading ' "$log" | tail -n 6 | sed 's/^/    | /'
}

# build_go_commands MODULE VERSION GOBIN PACKAGE...
#
# Builds each PACKAGE (import paths inside MODULE) at VERSION (a tag or a commit) into GOBIN.
# Each binary is first built into a staging directory and then moved into GOBIN, so an interrupted
# build never leaves a truncated binary that a later run would take as built.
# On failure prints a paragraph quoting the go command and returns 1.
build_go_commands() {
    local module=$1 version=$2 gobin=$3
    shift 3
    # The caller owns BUILD_WORK_ROOT and removes it on exit, also when a build is interrupted.
    local workdir
    workdir=$(mktemp -d "${BUILD_WORK_ROOT:?}/module.XXXXXX")

    local log=$workdir/go.log staging=$workdir/bin
    mkdir -p "$staging" "$gobin"
    {
        printf '//go:build tools\n\n// Package tools pins the commands this module exists to build.\npackage tools\n\nimport (\n'
        local package
        for package in "$@"; do printf '\t_ "%s"\n' "$package"; done
        printf ')\n'
    } >"$workdir/tools.go"

    progress "resolving $module@$version and its dependencies"
    # One log per step, so an error quotes only the go command that failed.
    local step
    for step in "mod init seocho.local/fabric-build" "mod edit -require=$module@$version" "mod tidy"; do
        # shellcheck disable=SC2086  # the step is a word list on purpose
        if ! (cd "$workdir" && go $step) >"$log" 2>&1; then
            explain_go_failure "resolving $module@$version (go $step)" "$log"
            return 1
        fi
    done

    local started binary
    exec 3>&1  # the heartbeat's way to the terminal while the build's own output goes to the log
    for package in "$@"; do
        binary=${package##*/}
        progress "building $binary ($package@$version; the first build takes about 3 minutes on 2 CPUs)"
        started=$SECONDS
        if ! with_heartbeat "building $binary" bash -c 'cd "$1" && GOBIN="$2" go install "$3"' _ \
            "$workdir" "$staging" "$package" >"$log" 2>&1; then
            explain_go_failure "building $binary" "$log"
            return 1
        fi
        mv -f "$staging/$binary" "$gobin/$binary"
        progress "built $binary in $((SECONDS - started))s -> $gobin/$binary"
    done
}

# with_heartbeat WHAT COMMAND... runs COMMAND, printing "WHAT: still running (N s)" on the terminal's
# stdout every 20 s, so a long build never looks stuck; returns COMMAND's exit status.
with_heartbeat() {
    local what=$1
    shift
    "$@" &
    local pid=$! began=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if (((SECONDS - began) % 20 == 0)) && kill -0 "$pid" 2>/dev/null; then
            progress "$what: still running ($((SECONDS - began)) s)" >&3
        fi
    done
    wait "$pid"
}

# Prints one paragraph explaining why a go command failed, quoting its error.
explain_go_failure() {
    local what=$1 log=$2
    {
        printf 'build-fabric: error: %s failed.' "$what"
        if grep -q '403 Forbidden\|not available' "$log"; then
            printf ' The Go module proxy (GOPROXY=%s) refuses to serve this module version, and the go' \
                "$(go env GOPROXY)"
            printf ' command does not fall back to the next source on a 403. Build on a machine whose proxy'
            printf ' serves it, or fetch straight from the source repository with GOPROXY=direct (needs git'
            printf ' and access to github.com), then run this script again.'
        fi
        printf ' The go command said:\n'
        quote_go_error "$log"
    } >&2
}
