# A booted Debian 12 container whose PID 1 is systemd 252, for tests/systemd/*_test.sh (sourced).
#   ensure_root DEB   the root, built once with debootstrap under $CONFINEFS_SYSTEMD_ROOT
#                     (default /var/cache/confinefs/systemd-bookworm), with DEB's dependencies
#   boot WORK         boots it (systemd-nspawn), waits until systemd is running; sets $leader
#   in_container CMD  runs CMD inside it (nsenter into every namespace of its PID 1)
#   poweroff          shuts it down
# The container shares the host's kernel, /dev/fuse and network; Landlock's syscalls are let
# through nspawn's own seccomp filter, which otherwise refuses them.
ROOT=${CONFINEFS_SYSTEMD_ROOT:-/var/cache/confinefs/systemd-bookworm}
MIRROR=${CONFINEFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

ensure_root() {
  local deb=$1 deps missing=() p
  if [ ! -e "$ROOT/.confinefs-ready" ]; then
    rm -rf "$ROOT.tmp"
    mkdir -p "$(dirname "$ROOT")"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$ROOT.tmp" \
      "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || { tail -5 "$ROOT.debootstrap.log"; return 1; }
    rm -rf "$ROOT"
    mv "$ROOT.tmp" "$ROOT"
    touch "$ROOT/.confinefs-ready"
  fi
  # The package's own dependencies, installed once: a warm run starts at once.
  deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g')
  for p in $deps; do
    chroot "$ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    chroot "$ROOT" apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || return 1
  fi
}

# The container's PID 1: the process named systemd among nspawn's descendants.
find_leader() {
  local pids=("$1") next p
  while [ ${#pids[@]} -gt 0 ]; do
    next=()
    for p in "${pids[@]}"; do
      [ "$p" != "$1" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && { echo "$p"; return 0; }
      next+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
    done
    pids=("${next[@]}")
  done
  return 1
}

boot() {
  local work=$1 state i
  setsid systemd-nspawn -b -D "$ROOT" --register=no --keep-unit --bind=/dev/fuse \
    --system-call-filter='landlock_create_ruleset landlock_add_rule landlock_restrict_self' \
    --machine="confinefs-test-$$" >"$work/nspawn.log" 2>&1 </dev/null &
  nspawn_pid=$!
  leader=
  for i in $(seq 100); do leader=$(find_leader "$nspawn_pid") && break; sleep 0.1; done
  [ -n "$leader" ] || { echo "container did not start"; tail -20 "$work/nspawn.log"; return 1; }
  for i in $(seq 300); do
    state=$(in_container systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) return 0 ;; esac
    sleep 0.1
  done
  echo "systemd in the container is '$state'"
  return 1
}

in_container() { nsenter -t "$leader" -a "$@"; }

poweroff() {
  [ -n "${nspawn_pid:-}" ] || return 0
  in_container systemctl poweroff >/dev/null 2>&1 || true
  for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$nspawn_pid" 2>/dev/null || true
}
