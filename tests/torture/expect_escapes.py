#!/usr/bin/env python3
"""Proof of teeth: runs scripts/torture against a target that is known to be unsafe and passes
only if the suite failed *because of escapes* in the scenarios that target must lose (by default
those every resolver-less daemon such as libfuse's passthrough_ll loses: symlink, hardlink,
hardlink-race, rename-out, rename-out-peek, and second-mount, where a client's FIFO, socket and
link from another mount reach this one; link-climb is lost only now and then and is checked on its
own for a minute: tests/torture/CMakeLists.txt).

  expect_escapes.py JSON_FILE [--must S1,S2] [--tries N] -- scripts/torture --quick --target ...
A suite that finds nothing there is broken; an exit status of 0 is therefore a failure here.
--tries N runs the suite again, up to N times in all, while it finds no escape at all: for a race
the unsafe target loses only now and then (link-climb), N independent runs make a run of bad luck
rare without making every run long.
"""
import json
import subprocess
import sys

MUST_ESCAPE = ("symlink", "hardlink", "hardlink-race", "rename-out", "rename-out-peek",
               "second-mount")


def main():
    args = sys.argv[1:]
    must = MUST_ESCAPE
    tries = 1
    while len(args) >= 3 and args[1] in ("--must", "--tries"):
        if args[1] == "--must":
            must = tuple(args[2].split(","))
        else:
            tries = int(args[2])
        del args[1:3]
    if len(args) < 3 or args[1] != "--":
        sys.exit(__doc__)
    json_file, cmd = args[0], args[2:] + ["--json", args[0]]
    for attempt in range(1, tries + 1):
        rc = subprocess.run(cmd).returncode
        if rc != 0 or attempt == tries:
            break
        print(f"try {attempt} of {tries}: no escape found, running again")
    if rc == 77:
        return 77
    if rc != 1:
        print(f"expected exit status 1 (escapes found), got {rc}")
        return 1
    with open(json_file) as f:
        report = json.load(f)
    by_name = {s["name"]: s for s in report["scenarios"]}
    bad = []
    for name in must:
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
