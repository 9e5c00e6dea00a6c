#!/usr/bin/env bash
# systemd-analyze verify on the template unit, as an instance, with the paths it names made
# real in a scratch root: /usr/sbin/confinefs (the binary under test), the tenant's files.
#   unit_verify.sh UNIT_FILE CONFINEFS_BINARY
set -euo pipefail
unit=$1 bin=$2
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
# verify checks ExecStart= binaries on the host; without the installed package, point the unit
# at the build (a copy: the real unit is what is verified otherwise, word for word).
work=$(mktemp -d /tmp/confinefs-unit-XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -x /usr/sbin/confinefs ]; then
  cp "$unit" "$work/confinefs@.service"
else
  sed "s|/usr/sbin/confinefs|$bin|g" "$unit" >"$work/confinefs@.service"
fi
ln -s "confinefs@.service" "$work/confinefs@demo.service"
out=$(cd "$work" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$work/confinefs@demo.service" 2>&1) || rc=$?
echo "$out"
# Only the unit's own problems count; verify also lints unrelated units on the host.
if [ "${rc:-0}" -ne 0 ] || grep -q "confinefs@" <<<"$out"; then
  echo "systemd-analyze verify: FAILED"
  exit 1
fi
echo "systemd-analyze verify: ok"

# The unit's SystemCallFilter= must let the daemon confine itself (else landlock=auto would only
# warn) and serve: expand its groups with systemd's own tables and look for what it needs.
systemd-analyze syscall-filter --no-pager >"$work/sets.txt" 2>/dev/null
grep '^SystemCallFilter=' "$unit" | cut -d= -f2- >"$work/filter.txt"
python3 - "$work/sets.txt" "$work/filter.txt" <<'PY'
import sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    if line.startswith("@"):
        cur = line.split()[0]; groups[cur] = []
    elif cur and line.strip() and not line.strip().startswith("#"):
        groups[cur].append(line.split()[0])
def expand(name, seen):
    if not name.startswith("@"):
        return {name}
    out = set()
    for x in groups.get(name, []):
        if x not in seen:
            seen.add(x); out |= expand(x, seen)
    return out
allowed = set()
for word in open(sys.argv[2]).read().split():
    allowed |= expand(word, set())
needed = """landlock_create_ruleset landlock_add_rule landlock_restrict_self seccomp prctl capset
    setgroups setresuid setresgid setfsuid setfsgid mount umount2 open_tree move_mount fsopen
    fsconfig fsmount openat openat2 renameat2
    getdents64 statx fgetxattr fsetxattr ioctl splice clone3 socket sendmsg accept4""".split()
missing = [n for n in needed if n not in allowed]
if missing:
    print("SystemCallFilter= lacks: " + " ".join(missing)); sys.exit(1)
print("SystemCallFilter= covers the daemon's confinement and serving syscalls")
PY
