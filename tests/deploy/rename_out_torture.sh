#!/usr/bin/env bash
# The torture suite's rename-out scenario (threat 7) against the default configuration (Landlock
# on: must report zero escapes) and with -o landlock=off (must find escapes: the difference
# Landlock makes, and proof the scenario still has teeth).
#   rename_out_torture.sh SCRIPTS_TORTURE CONFINEFS_BINARY WORK_DIR
set -uo pipefail
torture=$1 bin=$2 work=$3
"$torture" --quick --only rename-out --target confinefs --json "$work/rename-out-landlock.json"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: rename-out with Landlock (default configuration) exited $rc"; exit 1; }
"$torture" --quick --only rename-out --target "$bin -f -o landlock=off {backing} {mnt}" \
  --json "$work/rename-out-off.json"
rc=$?
escapes=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(s.get("escapes",0) for s in r["scenarios"]))' \
  "$work/rename-out-off.json" 2>/dev/null || echo 0)
if [ $rc != 1 ] || [ "${escapes:-0}" -eq 0 ]; then
  echo "FAIL: without Landlock rename-out should escape (exit $rc, escapes $escapes)"
  exit 1
fi
echo "rename-out: 0 escapes with Landlock, $escapes without"
