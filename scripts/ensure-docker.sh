#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`, installing and starting one if needed.
#
# podbus's image tests and the base-image build need a local engine. CI starts from a fresh
# Debian bookworm machine without systemd, so this script:
#   1. returns at once when `docker info` already works (idempotent, cheap to call often);
#   2. installs Debian's `docker.io` with apt-get when `dockerd` is missing;
#   3. starts `dockerd` in the background (its own session, so it outlives the caller), logging
#      to $PODBUS_DOCKERD_LOG;
#   4. waits up to $PODBUS_DOCKERD_TIMEOUT seconds for `docker info` to answer;
#   5. installs Debian's docker-compose when no compose CLI exists (a warning if that fails).
# It never skips: when the engine cannot be started it prints why (with the tail of the daemon
# log) and exits non-zero, so a test run that needs Docker fails loudly.
#
# Environment:
#   PODBUS_DOCKERD_LOG      daemon log file (default /var/log/podbus-dockerd.log)
#   PODBUS_DOCKERD_TIMEOUT  seconds to wait for the daemon (default 60)
set -euo pipefail

log_file="${PODBUS_DOCKERD_LOG:-/var/log/podbus-dockerd.log}"
timeout_s="${PODBUS_DOCKERD_TIMEOUT:-60}"

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

engine_ready() { docker info >/dev/null 2>&1; }

# One at a time: parallel test workers call this together, and two apt-get runs or two dockerd
# starts would trip over each other. The others wait here, then find the engine ready.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${PODBUS_LOCK_DIR:-/tmp}/podbus-ensure-docker.lock"
  flock 9
fi

# A compose CLI for `docker-compose config` in test/system/manifests.test.ts: Debian bookworm
# has no compose v2 plugin, only docker-compose 1.29 (which reads the Compose Specification).
# Not fatal: the engine is what this script guarantees.
ensure_compose() {
  if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing docker-compose with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1; } ||
      say "WARNING: could not install docker-compose; compose files are then only checked against the schema"
  fi
}

if command -v docker >/dev/null 2>&1 && engine_ready; then
  ensure_compose
  say "engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown))"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "the Docker engine is not reachable and starting one needs root (run as root, or start dockerd yourself)"

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  # cgroupfs-mount mounts the cgroup hierarchies on machines without systemd; iptables is what
  # dockerd uses for the bridge network's NAT (the image build downloads npm packages through it).
  apt-get install -y -q --no-install-recommends docker.io cgroupfs-mount iptables ca-certificates ||
    die "apt-get install docker.io failed"
fi

# Without systemd nothing mounts the cgroup filesystems; dockerd cannot run containers then.
if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
  if command -v cgroupfs-mount >/dev/null 2>&1; then
    say "mounting cgroup filesystems (cgroupfs-mount)"
    cgroupfs-mount || say "cgroupfs-mount failed; dockerd may not start"
  fi
fi

# pgrep (procps) is not on every minimal machine; read /proc directly.
daemon_running() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = dockerd ] && return 0
  done
  return 1
}

if daemon_running; then
  say "dockerd is already running; waiting for it to answer"
else
  # A stale pid file from a daemon that died makes dockerd refuse to start.
  pid_file=/var/run/docker.pid
  if [ -f "$pid_file" ] && ! kill -0 "$(cat "$pid_file" 2>/dev/null || echo 0)" 2>/dev/null; then
    say "removing stale $pid_file"
    rm -f "$pid_file"
  fi
  mkdir -p "$(dirname "$log_file")"
  say "starting dockerd (log: $log_file)"
  # setsid + nohup: the daemon gets its own session so it survives the caller (jest, CI step)
  # ending or killing its process group.
  # 9>&-: the daemon must not inherit (and so hold forever) the lock taken above.
  setsid nohup dockerd >>"$log_file" 2>&1 </dev/null 9>&- &
fi

deadline=$((SECONDS + timeout_s))
until engine_ready; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "ERROR: the Docker engine did not answer within ${timeout_s}s"
    if [ -f "$log_file" ]; then
      say "last lines of $log_file:"
      tail -n 30 "$log_file" >&2 || true
    fi
    exit 1
  fi
  if ! daemon_running && [ "$SECONDS" -gt $((deadline - timeout_s + 5)) ]; then
    say "ERROR: dockerd exited during startup"
    [ -f "$log_file" ] && tail -n 30 "$log_file" >&2
    exit 1
  fi
  sleep 1
done

ensure_compose
say "engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown))"
