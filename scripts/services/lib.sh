# shellcheck shell=bash
# Shared helpers for scripts/services/*.sh. Source it; do not run it.
set -euo pipefail

STATE="${TRIGGERD_SERVICES_DIR:-/var/tmp/triggerd-services}"
# shellcheck disable=SC2034 # used by the scripts that source this file
SERVICES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$STATE" "$STATE/pids" "$STATE/logs" "$STATE/bin"
chmod 755 "$STATE"

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# service_lock NAME: hold an exclusive lock on NAME until this script exits,
# so concurrent up.sh runs (several engineers / CI on one machine) queue up
# instead of racing to start the same daemon twice. Daemons are started with
# exec_detached, which closes the lock fd, so they do not keep the lock.
service_lock() {
  exec 9>"$STATE/.lock-$1"
  if ! flock -n 9; then
    log "$1: another run holds the lock; waiting"
    flock -w 900 9 || die "$1: lock wait timed out"
  fi
}

# port_open PORT [HOST]: true when a TCP connect succeeds.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD once a second until it succeeds.
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= timeout )); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 1
  done
  log "$what is ready ($((SECONDS - start))s)"
}

# apt_install PKG...: install the Debian packages that are not installed yet.
# Serialised with flock so the scripts can run in parallel. The scripts start
# their daemons themselves (no systemd); they do not rely on the packages'
# postinst starting anything.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  (( ${#missing[@]} == 0 )) && return 0
  log "apt-get install ${missing[*]}"
  (
    flock 8
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update at most once per day per state dir.
    if [[ ! -f "$STATE/.apt-updated" ]] || [[ -n "$(find "$STATE/.apt-updated" -mmin +1440 2>/dev/null)" ]]; then
      log "apt-get update"
      apt-get update -qq
      touch "$STATE/.apt-updated"
    fi
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$STATE/logs/apt-$$.log" 2>&1; then
      log "apt-get install failed; retrying after apt-get update"
      apt-get update -qq && touch "$STATE/.apt-updated"
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$STATE/logs/apt-$$.log" 2>&1 \
        || { cat "$STATE/logs/apt-$$.log" >&2; exit 1; }
    fi
  ) 8>"$STATE/.apt.lock"
}

# exec_detached CMD...: replace the current (sub)shell by CMD with stdin from
# /dev/null and every inherited fd above 2 closed, so daemons do not hold the
# caller's pipes open (which would make `up.sh | tee`, CI log capture, etc.
# hang). Use as `exec_detached cmd... &` (then $! is CMD's pid).
exec_detached() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  exec "$@" </dev/null
}
# detached CMD...: run CMD in the foreground the same way (for self-daemonizing CMDs).
detached() { ( exec_detached "$@" ); }

# wait_started NAME PIDFILE LOGFILE CHECK...: poll CHECK once a second
# until it succeeds, while the process in PIDFILE lives; on death or after
# 120s, show the end of LOGFILE and fail.
wait_started() {
  local name="$1" pidf="$2" logf="$3"; shift 3
  local start=$SECONDS
  until "$@"; do
    if ! pid_alive "$pidf"; then
      tail -n 40 "$logf" >&2 || true
      die "$name exited during startup"
    fi
    if (( SECONDS - start >= 120 )); then
      tail -n 40 "$logf" >&2 || true
      die "$name not ready after 120s"
    fi
    sleep 1
  done
  log "$name: ready ($((SECONDS - start))s)"
}

# pid_alive FILE: true when FILE holds the pid of a live process.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile NAME FILE [TIMEOUT]: SIGTERM, wait, then SIGKILL.
stop_pidfile() {
  local name="$1" f="$2" timeout="${3:-30}" pid i
  if ! pid_alive "$f"; then rm -f "$f"; log "$name: not running"; return 0; fi
  pid="$(cat "$f")"
  log "$name: stopping pid $pid"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$f"; log "$name: stopped"; return 0; }
    sleep 1
  done
  log "$name: still alive after ${timeout}s, SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

# ensure_triggerd: build triggerd from this checkout into $STATE/bin/triggerd
# (temporal.sh runs its embedded Temporal dev server). With the module's
# build cache warm (the tests compile the same packages) it is a link.
ensure_triggerd() {
  local repo bin="$STATE/bin/triggerd"
  repo="$(cd "$SERVICES_SRC/../.." && pwd)"
  command -v go >/dev/null || die "go is required to build triggerd"
  (
    flock -w 900 7 || die "triggerd build lock wait timed out"
    log "temporal: go build ./cmd/triggerd -> $bin (log: $STATE/logs/triggerd-build.log)"
    local start=$SECONDS
    (cd "$repo" && go build -o "$bin.tmp" ./cmd/triggerd) >"$STATE/logs/triggerd-build.log" 2>&1 \
      || { tail -n 40 "$STATE/logs/triggerd-build.log" >&2; die "triggerd build failed"; }
    mv "$bin.tmp" "$bin"
    log "temporal: built triggerd in $((SECONDS - start))s"
  ) 7>"$STATE/.lock-triggerd-build"
}

# ensure_temporal_cli: build the temporal CLI into $STATE/bin/temporal, from
# this module (the version go.mod pins, so it shares the build cache with
# triggerd and temporal-server), unless that version is there. temporal-pg.sh
# uses it to check health and register its namespace and search attributes.
ensure_temporal_cli() {
  local repo bin="$STATE/bin/temporal" version
  repo="$(cd "$SERVICES_SRC/../.." && pwd)"
  version="$(cd "$repo" && go list -m -f '{{.Version}}' github.com/temporalio/cli)"
  cli_version() { go version -m "$bin" 2>/dev/null | awk '($1 == "mod" || $1 == "dep") && $2 == "github.com/temporalio/cli" {print $3}'; }
  (
    flock -w 900 7 || die "temporal CLI build lock wait timed out"
    if [[ -x "$bin" && "$(cli_version)" == "$version" ]]; then
      log "temporal: CLI $version already built at $bin"
      exit 0
    fi
    command -v go >/dev/null || die "go is required to build the temporal CLI"
    log "temporal: go build github.com/temporalio/cli/cmd/temporal ($version; log: $STATE/logs/temporal-build.log)"
    local start=$SECONDS
    (cd "$repo" && go build -o "$bin.tmp" github.com/temporalio/cli/cmd/temporal) >"$STATE/logs/temporal-build.log" 2>&1 \
      || { tail -n 40 "$STATE/logs/temporal-build.log" >&2; die "temporal CLI build failed"; }
    mv "$bin.tmp" "$bin"
    log "temporal: built in $((SECONDS - start))s"
  ) 7>"$STATE/.lock-temporal-cli"
}
