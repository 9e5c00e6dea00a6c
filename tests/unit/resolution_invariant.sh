#!/usr/bin/env bash
# The resolution invariant, kept by a test: in the daemon core (fusefs/), only
# fusefs/resolve/resolver.cpp may call a syscall that takes a path or a name. Everything else
# works on fds it got from the resolver. (The audit log file is the operator's, opened by path
# from the policy before mounting; cmd/ opens BACKING and the mountpoint at start.)
set -euo pipefail
root=${1:?usage: resolution_invariant.sh SOURCE_DIR}
calls='openat2?|mkdirat|unlinkat|renameat2?|fstatat|newfstatat|linkat|symlinkat|fchmodat|fchownat|utimensat|mknodat|faccessat2?|readlinkat|name_to_handle_at|open_by_handle_at|statx|open|creat|stat|lstat|chmod|chown|truncate|unlink|rmdir|mkdir|rename|link|symlink|getxattr|setxattr|lgetxattr|lsetxattr|listxattr|removexattr'
status=0
while IFS= read -r file; do
  case "$file" in */fusefs/resolve/resolver.cpp) continue ;; esac
  # Strip comments, then look for a call that is not a member or namespaced call
  # (x.open(, x->open(, ops::open(, sys::fstat( are the project's own wrappers).
  hits=$(sed -e 's|//.*||' "$file" | grep -nE "(^|[^.>:A-Za-z0-9_]|[^A-Za-z0-9_]::)($calls)\s*\(|SYS_openat2" |
    grep -vE "^[0-9]+:\s*(Result<|Outcome<|void |bool |inline |static )" |
    grep -vE 'statx\(fd\.get\(\), "", AT_EMPTY_PATH' || true)
  case "$file" in
    */fusefs/audit/audit_log.cpp) hits=$(echo "$hits" | grep -vE '::open\(path\.c_str\(\)' || true) ;;
  esac
  if [ -n "$hits" ]; then
    echo "$file: path-taking syscall outside fusefs/resolve/resolver.cpp:" >&2
    echo "$hits" >&2
    status=1
  fi
done < <(find "$root/fusefs" -name '*.cpp' -o -name '*.h')
[ $status -eq 0 ] && echo "resolution invariant holds"
exit $status
