#!/usr/bin/env bash
# The shipped unit under a real systemd 252 (a booted Debian 12 container, container.sh):
#   - the .deb installs in it;
#   - confinefs@t1 starts and reports READY (StatusText "ready: ..."); systemctl's MainPID and
#     confinefs status's pid agree; data goes through the mount, with passthrough on;
#   - audit records reach journald (journalctl -o json: CONFINEFS_AUDIT=1 and the JSON line);
#   - systemctl reload applies a policy change (status shows the new tenant and reloads=1);
#   - a session (working directory in the mount, a directory fd, a file open for appending)
#     keeps working across SIGKILL of the daemon and across systemctl restart (resume=on); the
#     first stat through the mount after the SIGKILL is timed;
#   - systemctl restart during a create/write/rename/read workload: no operation fails and the
#     files hold what the model says;
#   - 5 SIGKILLs during that workload and the file exerciser (random I/O checked against a model,
#     buffered and O_DIRECT): no operation fails, no byte differs;
#   - systemctl stop unmounts and leaves no daemon or registrar, and removes the bind of BACKING
#     onto itself that the daemon made;
#   - two tenants, one whose MOUNTPOINT sits below a directory it owns: that unit refuses to start
#     (its stop could otherwise be steered onto the other tenant's mount), the other's mount stays
#     live throughout, and its stop unmounts exactly its own recorded mount;
#   - 20 tenants start, serve and stop concurrently;
#   - systemd-analyze security's exposure level is printed (docs/deployment.md records it).
#   real_unit_test.sh BUILD_DIR     needs root, /dev/fuse, debootstrap, systemd-nspawn (else 77)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || ! command -v debootstrap >/dev/null ||
   ! command -v systemd-nspawn >/dev/null || ! command -v cpack >/dev/null; then
  echo "needs root, /dev/fuse, debootstrap, systemd-nspawn and cpack: skipped"
  exit 77
fi
# shellcheck source=tests/systemd/container.sh
source "$here/container.sh"
work=$(mktemp -d /tmp/confinefs-systemd-XXXXXX)
cleanup() { poweroff; rm -rf "$work"; }
trap cleanup EXIT
t0=$(date +%s.%N)
step() { echo "[$(awk "BEGIN { printf \"%6.2f\", $(date +%s.%N) - $t0 }") s] $*"; }
fail() {
  echo "FAIL: $*"
  in_container journalctl -u 'confinefs@*' --no-pager -n 40 2>/dev/null || true
  exit 1
}
top=/srv/confinefs-test

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb" >"$work/cpack.log" 2>&1) ||
  { tail "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/deb/*.deb)
ensure_root "$deb" || fail "cannot build the container root under $ROOT"
step "root $ROOT ready for $(basename "$deb")"
# This run's state only: the last run's package, tenants and journal go.
chroot "$ROOT" dpkg -P confinefs >/dev/null 2>&1 || true
rm -rf "$ROOT/etc/confinefs" "$ROOT$top" "$ROOT/var/log/journal"
cp "$deb" "$ROOT/root/confinefs.deb"  # the container mounts its own /tmp
boot "$work" || fail "boot"
step "booted: PID 1 is $(in_container cat /proc/1/comm) (host pid $leader)"
in_container dpkg -i /root/confinefs.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
step "installed"

# tenant NAME POLICY: its policy and environment files, backing directory and mountpoint.
tenant() {
  mkdir -p "$ROOT/etc/confinefs" "$ROOT$top/$1/data" "$ROOT$top/$1/mnt"
  printf '%b' "$2" >"$ROOT/etc/confinefs/$1.yaml"
  printf 'BACKING=%s\nMOUNTPOINT=%s\nCONFINEFS_OPTIONS=\n' "$top/$1/data" "$top/$1/mnt" \
    >"$ROOT/etc/confinefs/$1.env"
}
field() { { in_container confinefs status "$top/$1/mnt" 2>/dev/null || true; } | sed -n "s/^$2=//p"; }
wait_field() {
  for _ in $(seq 100); do [ "$(field "$1" "$2")" = "$3" ] && return 0; sleep 0.1; done
  return 1
}
daemons() { in_container sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -c '^confinefs' || true; }

tenant t1 'version: 1\ntenant: t1\nrules:\n  - {path: /denied, access: deny}\naudit:\n  sink: journald\n'
mkdir -p "$ROOT$top/t1/data/denied"
in_container systemctl start confinefs@t1 || fail "start confinefs@t1"
[ "$(in_container systemctl is-active confinefs@t1)" = active ] || fail "confinefs@t1 not active"
status=$(in_container systemctl show -p StatusText --value confinefs@t1)
[[ $status == ready:* ]] || fail "StatusText '$status'"
[ "$(field t1 live)" = yes ] || fail "confinefs status: not live"
[ "$(field t1 pid)" = "$(in_container systemctl show -p MainPID --value confinefs@t1)" ] ||
  fail "systemctl's MainPID and confinefs status's pid differ"
wait_field t1 passthrough on || fail "passthrough=$(field t1 passthrough)"
step "confinefs@t1 active, READY ('$status'), passthrough on"

in_container sh -c "echo through > $top/t1/mnt/f"
[ "$(cat "$ROOT$top/t1/data/f")" = through ] || fail "a write through the mount did not land"
in_container ls "$top/t1/mnt/denied" >/dev/null 2>&1 && fail "a denied directory was listed"
for _ in $(seq 50); do
  journal=$(in_container journalctl -u confinefs@t1 -o json --no-pager 2>/dev/null || true)
  grep -q '"CONFINEFS_AUDIT":"1"' <<<"$journal" && break
  sleep 0.1
done
grep '"CONFINEFS_AUDIT":"1"' <<<"$journal" | grep -q '/denied' ||
  fail "no audit record for /denied in the journal"
step "data through the mount; the denial is in the journal with CONFINEFS_AUDIT=1"

tenant t1 'version: 1\ntenant: t1-reloaded\n'
in_container systemctl reload confinefs@t1 || fail "reload"
wait_field t1 tenant t1-reloaded || fail "reload not applied: tenant=$(field t1 tenant)"
[ "$(field t1 reloads)" = 1 ] || fail "reloads=$(field t1 reloads)"
step "systemctl reload applied the new policy"

# A session (a shell whose working directory is in the mount, with a directory fd and a file
# open for appending) across a crash and a restart: it keeps working (resume=on). It waits for
# a go file, then uses all three and reports on the host.
# session DIR: a new session in a new directory.
session() {
  sdir=$1
  rm -f "$ROOT/root/go" "$ROOT/root/session.out"
  mkdir -p "$ROOT$top/t1/data/$sdir"
  echo hello >"$ROOT$top/t1/data/$sdir/f"
  in_container sh -c "cd $top/t1/mnt/$sdir && exec 4>>log 5<. && echo before >&4 &&
    while [ ! -e /root/go ]; do sleep 0.05; done &&
    { pwd; cat f; cat /proc/self/fd/5/f; echo after >&4; cat log; echo new >new; ls;
      } >/root/session.out 2>&1; echo rc=\$? >>/root/session.out" &
  session_pid=$!
  for _ in $(seq 100); do [ -s "$ROOT$top/t1/data/$sdir/log" ] && return 0; sleep 0.05; done
  fail "the session did not start"
}
session_check() {
  touch "$ROOT/root/go"
  wait "$session_pid" || true
  expected="$top/t1/mnt/$sdir
hello
hello
before
after
f
log
new
rc=0"
  [ "$(cat "$ROOT/root/session.out")" = "$expected" ] ||
    fail "the session after $1: $(cat "$ROOT/root/session.out")"
}
# wait_new_daemon OLD_PID: until a daemon other than OLD_PID serves; prints the seconds taken.
wait_new_daemon() {
  local since pid
  since=$(date +%s.%N)
  for _ in $(seq 200); do
    pid=$(field t1 pid)
    [ -n "$pid" ] && [ "$pid" != "$1" ] && [ "$(field t1 live)" = yes ] && break
    sleep 0.02
  done
  [ -n "$pid" ] && [ "$pid" != "$1" ] || fail "no new daemon"
  awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $since }"
}

session s1
old_pid=$(field t1 pid)
crash=$(date +%s.%N)
in_container systemctl kill --kill-who=main --signal=KILL confinefs@t1
in_container stat "$top/t1/mnt/s1" >/dev/null || fail "stat through the mount after SIGKILL"
recovery=$(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $crash }")
wait_new_daemon "$old_pid" >/dev/null
session_check "SIGKILL"
step "SIGKILL: first stat through the mount after ${recovery} s; the session's cwd, dir fd and append fd work"

session s2
old_pid=$(field t1 pid)
in_container systemctl restart confinefs@t1 || fail "restart"
wait_new_daemon "$old_pid" >/dev/null
session_check "systemctl restart"
findmnt_count=$(in_container findmnt -rn "$top/t1/mnt" | wc -l)
[ "$findmnt_count" = 1 ] || fail "$findmnt_count mounts at the mountpoint after restart"
step "systemctl restart: the session keeps working, one mount"

# systemctl restart under a workload: every create, write, rename and read succeeds and the
# files hold what was written (a model: file i holds i, last writer wins).
rm -f "$ROOT/root/stop" "$ROOT/root/work.out"
in_container sh -c "cd $top/t1/mnt && i=0; bad=0; while [ ! -e /root/stop ]; do
    n=\$((i % 40)); echo \$i >w\$n.tmp && mv w\$n.tmp w\$n && [ \"\$(cat w\$n)\" = \$i ] ||
    bad=\$((bad + 1)); echo \$n:\$i >>/root/work.model; i=\$((i + 1)); done;
    echo ops=\$i bad=\$bad >/root/work.out" &
work_pid=$!
for _ in 1 2 3; do
  sleep 0.5
  old_pid=$(field t1 pid)
  in_container systemctl restart confinefs@t1 || fail "restart under load"
  wait_new_daemon "$old_pid" >/dev/null
done
sleep 0.3
touch "$ROOT/root/stop"
wait "$work_pid" || true
grep -q ' bad=0$' "$ROOT/root/work.out" || fail "operations failed across restarts: $(cat "$ROOT/root/work.out")"
for n in $(seq 0 39); do
  last=$(grep "^$n:" "$ROOT/root/work.model" | tail -1 | cut -d: -f2)
  [ -z "$last" ] || [ "$(cat "$ROOT$top/t1/data/w$n")" = "$last" ] || fail "w$n differs from the model"
done
rm -f "$ROOT/root/work.model"
step "3 restarts under a workload: $(cat "$ROOT/root/work.out"), content as the model"

# SIGKILLs under load: the file exerciser (random I/O checked against a model, buffered and
# O_DIRECT) and the create/write/rename/read loop run while systemd restarts a killed daemon 5
# times; the requests each daemon took are resent to the next and answered once: nothing fails.
cp "$build/bin/file-exerciser" "$ROOT/root/file-exerciser"
rm -f "$ROOT/root/stop" "$ROOT/root/work.out" "$ROOT/root/work.model" "$ROOT/root/x.err" "$ROOT/root/d.err"
in_container sh -c "/root/file-exerciser $top/t1/mnt/x 11 120 --stop /root/stop 2>/root/x.err >/root/x.out" &
x_pid=$!
in_container sh -c "/root/file-exerciser $top/t1/mnt/d 12 120 --stop /root/stop --direct 2>/root/d.err >/root/d.out" &
d_pid=$!
in_container sh -c "cd $top/t1/mnt && i=0; bad=0; while [ ! -e /root/stop ]; do
    n=\$((i % 40)); echo \$i >k\$n.tmp && mv k\$n.tmp k\$n && [ \"\$(cat k\$n)\" = \$i ] ||
    bad=\$((bad + 1)); echo \$n:\$i >>/root/work.model; i=\$((i + 1)); done;
    echo ops=\$i bad=\$bad >/root/work.out" &
work_pid=$!
for _ in 1 2 3 4 5; do
  sleep 0.8
  old_pid=$(field t1 pid)
  in_container systemctl kill --kill-who=main --signal=KILL confinefs@t1
  wait_new_daemon "$old_pid" >/dev/null
done
sleep 0.5
touch "$ROOT/root/stop"
wait "$work_pid" || true
wait "$x_pid" || fail "the exerciser (buffered) after SIGKILLs: $(cat "$ROOT/root/x.err")"
wait "$d_pid" || fail "the exerciser (O_DIRECT) after SIGKILLs: $(cat "$ROOT/root/d.err")"
grep -q ' bad=0$' "$ROOT/root/work.out" || fail "operations failed across SIGKILLs: $(cat "$ROOT/root/work.out")"
for n in $(seq 0 39); do
  last=$(grep "^$n:" "$ROOT/root/work.model" | tail -1 | cut -d: -f2)
  [ -z "$last" ] || [ "$(cat "$ROOT$top/t1/data/k$n")" = "$last" ] || fail "k$n differs from the model"
done
rm -f "$ROOT/root/work.model"
step "5 SIGKILLs under load: $(cat "$ROOT/root/work.out"), exerciser $(cat "$ROOT/root/x.out") + $(cat "$ROOT/root/d.out") O_DIRECT operations, 0 failed"

in_container systemctl stop confinefs@t1
in_container findmnt "$top/t1/mnt" >/dev/null && fail "still mounted after stop"
[ "$(daemons)" = 0 ] || fail "$(daemons) confinefs processes left after stop"
in_container findmnt "$top/t1/data" >/dev/null && fail "the bind of BACKING outlived the stop"
step "systemctl stop: unmounted, BACKING's bind removed, no process left"

# Two tenants. tb is laid out as docs/deployment.md says (root-owned directories above its
# mountpoint); ta's mountpoint sits below a directory the tenant user owns, from where it could
# rename the live mount's parent away and put a symlink to tb's directory in its place, so that
# the stop of ta's own unit would unmount tb. That unit must refuse to start.
in_container sh -c 'id tenanta >/dev/null 2>&1 || useradd --system --no-create-home tenanta'
tenant tb 'version: 1\ntenant: tb\n'
mkdir -p "$ROOT$top/ta/data" "$ROOT$top/ta/home/mnt"
printf 'version: 1\ntenant: ta\n' >"$ROOT/etc/confinefs/ta.yaml"
printf 'BACKING=%s\nMOUNTPOINT=%s\nCONFINEFS_OPTIONS=\n' "$top/ta/data" "$top/ta/home/mnt" \
  >"$ROOT/etc/confinefs/ta.env"
in_container chown tenanta "$top/ta/home"
in_container systemctl start confinefs@tb || fail "start confinefs@tb"
tb_mount=$(in_container findmnt -rno ID "$top/tb/mnt" 2>/dev/null || true)
in_container systemctl start confinefs@ta 2>/dev/null && fail "confinefs@ta started below a tenant-owned directory"
in_container systemctl stop confinefs@ta 2>/dev/null || true
in_container journalctl -u confinefs@ta --no-pager 2>/dev/null | grep -q 'another user than root' ||
  fail "confinefs@ta's journal does not say why it refused"
in_container findmnt "$top/ta/home/mnt" >/dev/null && fail "something is mounted at ta's mountpoint"
[ "$(in_container findmnt -rno ID "$top/tb/mnt" 2>/dev/null || true)" = "$tb_mount" ] ||
  fail "tb's mount changed while ta was refused"
in_container sh -c "echo tb > $top/tb/mnt/own" || fail "tb stopped serving"
# tb's stop acts on tb's record: its own mount goes, and its bind.
in_container systemctl stop confinefs@tb
in_container findmnt "$top/tb/mnt" >/dev/null && fail "tb still mounted after its stop"
in_container findmnt "$top/tb/data" >/dev/null && fail "tb's bind of BACKING outlived its stop"
step "two tenants: a unit below a tenant-owned directory refuses to start; the other's stop unmounts only its own"

tenants=()
for i in $(seq 2 21); do
  tenant "t$i" "version: 1\ntenant: t$i\n"
  tenants+=("confinefs@t$i")
done
in_container systemctl start "${tenants[@]}" || fail "starting 20 tenants"
for i in $(seq 2 21); do
  [ "$(in_container systemctl is-active "confinefs@t$i")" = active ] || fail "confinefs@t$i"
  in_container sh -c "echo t$i > $top/t$i/mnt/own"
  [ "$(cat "$ROOT$top/t$i/data/own")" = "t$i" ] || fail "t$i: write did not land"
done
step "20 tenants active and serving"
in_container systemctl stop "${tenants[@]}"
[ "$(daemons)" = 0 ] || fail "$(daemons) confinefs processes left after stopping 20 tenants"
step "20 tenants stopped"

exposure=$(in_container systemd-analyze security --no-pager confinefs@t1.service | tail -1)
step "systemd-analyze security: ${exposure#→ }"
echo "real systemd: ok"
