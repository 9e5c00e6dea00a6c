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
