#!/usr/bin/env python3
"""Proof of teeth: runs scripts/torture against a target that is known to be unsafe and passes
only if the suite failed *because of escapes* in the scenarios that target must lose (by default
those every resolver-less daemon such as libfuse's passthrough_ll loses: symlink, hardlink,
hardlink-race, rename-out, rename-out-peek, and second-mount, where a client's FIFO, socket and
link from another mount reach this one; link-climb is lost only now and then and is checked on its
own for a minute: tests/torture/CMakeLists.txt).

  expect_escapes.py JSON_FILE [--must S1,S2] [--tries N] -- scripts/torture --quick --target ...
A suite that finds nothing there is broken; an exit status of 0 is therefore a failure here.
--tries N runs the suite again, up to N times in all, while a scenario that must find escapes has
found none in any run so far: for a race the unsafe target loses only now and then (link-climb, a
few escapes a minute in the hardlink races), N independent runs make a run of bad luck rare
without making every run long.
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
    found = {}  # scenario -> (escapes, target) of the first run that found escapes
    for attempt in range(1, tries + 1):
        rc = subprocess.run(cmd).returncode
        if rc == 77:
            return 77
        if rc not in (0, 1):
            print(f"expected exit status 1 (escapes found), got {rc}")
            return 1
        with open(json_file) as f:
            report = json.load(f)
        for s in report["scenarios"]:
            if s["name"] in must and s["escapes"] > 0 and s["status"] == "fail":
                found.setdefault(s["name"], (s["escapes"], report["summary"]["target"]))
        missing = [name for name in must if name not in found]
        if not missing or attempt == tries:
            break
        print(f"try {attempt} of {tries}: no escape yet in {', '.join(missing)}, running again")
    bad = []
    for name in must:
        if name in found:
            print(f"ok: {name} reported {found[name][0]} escapes against {found[name][1]}")
        else:
            bad.append(f"{name}: no escapes in {attempt} run(s)")
    for b in bad:
        print(f"NO TEETH: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
