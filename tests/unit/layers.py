#!/usr/bin/env python3
"""The layering, kept by a test: every folder of the daemon is one namespace named after it, and
includes only reach down. Layers, bottom first (docs/design.md "Layers"):

  fusefs/ (Result, Fd)  policy/  sys/  resolve/  nodes/  audit/  objects/  mount/  guards/  ops/
  fuse/  cmd/

A folder may include itself and any folder below it, never one above: so there are no cycles, and
an operation cannot be reached from the guards every operation passes.

And the request path's one entrance: the kernel's raw ids (a node id, a parent's id) are taken only
by the public operations (fusefs/ops/ops.h) and by entering (fusefs/ops/enter.h, and resume.cpp,
which entering calls). Every step after them, and every guard, takes the values entering hands out
(a NodeRef, a guards::Place), never an id to look up again.
"""
import pathlib
import re
import sys

LAYERS = ["fusefs", "policy", "sys", "resolve", "nodes", "audit", "objects", "mount", "guards",
          "ops", "fuse", "cmd"]
# Folders whose names are the vocabulary of every layer above them: inline namespaces, so those
# names read unqualified (confinefs::resolve::Resolver is also confinefs::Resolver).
INLINE = {"resolve", "nodes", "mount"}
INCLUDE = re.compile(r'^#include "((?:fusefs/)?[a-z_]+)/(?:[a-z0-9_]+/)?[a-z_]+\.h"', re.M)


def folder_of(path, root):
    parts = path.relative_to(root).parts
    if parts[0] == "fusefs":
        return "fusefs" if len(parts) == 2 else parts[1]
    return parts[0]


def expected_namespaces(folder):
    if folder == "fusefs":
        return {"namespace confinefs {"}
    if folder in INLINE:
        return {"namespace confinefs {\ninline namespace " + folder + " {"}
    return {f"namespace confinefs::{folder} {{"}


def check(root):
    problems = []
    for top in ("fusefs", "policy", "cmd"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".h", ".cpp") or path.name == "main.cpp":
                continue
            folder = folder_of(path, root)
            text = path.read_text()
            # An inline folder opens confinefs, then itself, on the next line.
            opened = re.findall(r"^namespace [\w:]+ \{(?:\ninline namespace \w+ \{)?", text, re.M)
            for ns in opened:
                nested = folder not in INLINE and ns.startswith(f"namespace confinefs::{folder}::")
                if ns not in expected_namespaces(folder) and not nested:
                    shown = ns.replace("\n", " ")
                    problems.append(f"{path.relative_to(root)}: {shown} in {folder}/")
            for inc in INCLUDE.findall(text):
                target = inc.split("/")[-1] if inc.startswith("fusefs/") else inc
                if target not in LAYERS:
                    continue
                if LAYERS.index(target) > LAYERS.index(folder) or (
                        target != folder and LAYERS.index(target) == LAYERS.index(folder)):
                    problems.append(f"{path.relative_to(root)}: {folder}/ includes {target}/, "
                                    "a layer above it")
    return problems


RAW_ID = re.compile(r"\buint64_t (id|node|parent|new_parent|dir)\b")
PARAMS = re.compile(r"\b(\w+)\(([^()]*)\)")
ENTRANCE = ["fusefs/ops/ops.h", "fusefs/ops/enter.h"]
ENTRANCE_FILES = {"fusefs/ops/enter.cpp", "fusefs/ops/resume.cpp"}


def entry_points(root):
    names = set()
    for rel in ENTRANCE:
        for name, params in PARAMS.findall((root / rel).read_text()):
            if "const Request& r" in params:
                names.add(name)
    return names


def check_raw_ids(root):
    problems = []
    allowed = entry_points(root)
    paths = sorted((root / "fusefs/ops").glob("*.[ch]*")) + sorted(
        (root / "fusefs/guards").glob("*.h"))
    for path in paths:
        rel = str(path.relative_to(root))
        if rel in ENTRANCE_FILES or rel in ENTRANCE:
            continue
        text = re.sub(r"//.*", "", path.read_text())
        for name, params in PARAMS.findall(text):
            if RAW_ID.search(params) and name not in allowed:
                problems.append(f"{rel}: {name}() takes a raw id past the entrance "
                                "(take the NodeRef or guards::Place that ops/enter.h hands out)")
    return problems


def main():
    root = pathlib.Path(sys.argv[1])
    problems = check(root) + check_raw_ids(root)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print("layers hold: namespaces follow folders, includes reach down only, ids stop at the "
          "entrance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
