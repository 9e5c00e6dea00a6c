#!/usr/bin/env bash
# Install rules and the .deb:
#   1. `cmake --install` into a scratch DESTDIR puts every file where the docs say;
#   2. `cpack -G DEB` builds the package; as root, `dpkg -i` installs it, the installed daemon
#      runs, and `dpkg -r` removes every file again. A confinefs package that was already
#      installed on this host is left alone (that part is then skipped).
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/confinefs-pkg-XXXXXX)
installed_by_us=0
cleanup() {
  if [ "$installed_by_us" = 1 ]; then dpkg -P confinefs >/dev/null 2>&1 || true; fi
  # The daemon leaves BACKING bound onto itself (docs/deployment.md).
  awk -v w="$work/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. cmake --install
DESTDIR=$work/root cmake --install "$build" --prefix /usr >/dev/null
r=$work/root/usr
for f in sbin/confinefs lib/systemd/system/confinefs@.service share/man/man8/confinefs.8 \
         share/doc/confinefs/examples/agent-workspace.yaml share/doc/confinefs/examples/tenant.env \
         share/doc/confinefs/deployment.md; do
  [ -e "$r/$f" ] || fail "cmake --install: missing /usr/$f"
done
[ "$(readlink "$r/sbin/mount.confinefs")" = confinefs ] || fail "mount.confinefs is not a link to confinefs"
"$r/sbin/confinefs" --version | grep -q '^confinefs ' || fail "installed binary does not run"
if command -v groff >/dev/null; then
  warnings=$(groff -man -Tutf8 -ww -z "$r/share/man/man8/confinefs.8" 2>&1)
  [ -z "$warnings" ] || fail "man page: $warnings"
fi
echo "cmake --install: ok"

# 2. the .deb
command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || { echo "no cpack/dpkg-deb: skipped"; exit 77; }
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/deb/confinefs_*.deb)
listing=$(dpkg-deb -c "$deb")
grep -q './usr/sbin/mount.confinefs -> confinefs' <<<"$listing" || fail ".deb lacks mount.confinefs"
grep -q './usr/lib/systemd/system/confinefs@.service' <<<"$listing" || fail ".deb lacks the unit"
echo ".deb built: $(basename "$deb")"
if [ "$(id -u)" != 0 ]; then echo "not root: dpkg -i/-r skipped"; exit 0; fi
if dpkg-query -W -f='${Status}' confinefs 2>/dev/null | grep -q 'install ok installed'; then
  echo "a confinefs package is already installed here: dpkg -i/-r skipped"
  exit 0
fi
installed_by_us=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
/usr/sbin/confinefs --version | grep -q '^confinefs ' || fail "installed daemon does not run"
[ -L /usr/sbin/mount.confinefs ] || fail "mount.confinefs not installed"
man -w confinefs >/dev/null 2>&1 || [ -e /usr/share/man/man8/confinefs.8 ] || fail "man page not installed"
# mount(8) finds the helper link: mount -t confinefs, as /etc/fstab would.
if [ -e /dev/fuse ]; then
  mkdir -p "$work/b" "$work/m"
  mount -t confinefs "$work/b" "$work/m" -o allow_other || fail "mount -t confinefs"
  echo via-mount >"$work/m/f"
  umount "$work/m" || fail "umount"
  [ "$(cat "$work/b/f")" = via-mount ] || fail "mount -t confinefs did not serve BACKING"
  sleep 0.5
fi
files=$(dpkg -L confinefs | grep -v '/$' || true)
dpkg -r confinefs >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r"; }
installed_by_us=0
for f in /usr/sbin/confinefs /usr/sbin/mount.confinefs /usr/lib/systemd/system/confinefs@.service \
         /usr/share/man/man8/confinefs.8; do
  [ ! -e "$f" ] || fail "dpkg -r left $f"
done
dpkg-query -W -f='${Status}' confinefs 2>/dev/null | grep -q 'install ok installed' && fail "still installed"
# -r keeps dpkg's record of the maintainer scripts ("rc"); purge it so the host is as before.
dpkg -P confinefs >/dev/null 2>&1 || true
echo "dpkg -i / dpkg -r: ok ($(wc -l <<<"$files") paths installed and removed)"
