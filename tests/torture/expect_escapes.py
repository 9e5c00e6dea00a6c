#!/usr/bin/env python3
"""Proof of teeth: runs scripts/torture against a target that is known to be unsafe
(libfuse's passthrough_ll) and passes only if the suite failed *because of escapes* in the
scenarios every resolver-less daemon must lose: symlink, hardlink and rename-out.

  expect_escapes.py JSON_FILE -- scripts/torture --quick --target passthrough_ll
A suite that finds nothing there is broken; an exit status of 0 is therefore a failure here.
"""
import json
import subprocess
import sys

MUST_ESCAPE = ("symlink", "hardlink", "rename-out")


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    json_file, cmd = sys.argv[1], sys.argv[3:] + ["--json", sys.argv[1]]
    rc = subprocess.run(cmd).returncode
    if rc == 77:
        return 77
    if rc != 1:
        print(f"expected exit status 1 (escapes found), got {rc}")
        return 1
    with open(json_file) as f:
        report = json.load(f)
    by_name = {s["name"]: s for s in report["scenarios"]}
    bad = []
    for name in MUST_ESCAPE:
        s = by_name.get(name)
        if s is None:
            bad.append(f"{name}: not run")
        elif s["escapes"] <= 0 or s["status"] != "fail":
            bad.append(f"{name}: status {s['status']}, escapes {s['escapes']}")
        else:
            print(f"ok: {name} reported {s['escapes']} escapes against {report['summary']['target']}")
    for b in bad:
        print(f"NO TEETH: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
