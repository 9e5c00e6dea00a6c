"""What scripts/bench and scripts/torture both need: the mount table, the kernel's caches, a
daemon's process tree and fds, and one FUSE daemon's lifecycle (start until mounted, stop with
escalation to a lazy unmount, a connection abort and SIGKILL)."""
import os
import re
import resource
import signal
import subprocess
import time


def _unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mountinfo():
    """(mount point, fstype, major:minor) of every mount, octal escapes decoded, in the order
    mounted (a later line is on top)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            out.append((_unescape(fields[4]), right.split()[0] if right else "", fields[2]))
    return out


def fuse_mount_dev(path):
    """major:minor of the topmost FUSE mount at path, or None."""
    dev = None
    for point, fstype, d in mountinfo():
        if point == path and (fstype == "fuse" or fstype.startswith("fuse.")):
            dev = d
    return dev


def is_mounted(path):
    return any(point == path for point, _, _ in mountinfo())


def mounts_under(top):
    """Mount points below top, mounted last first (confinefs binds a backing dir onto itself)."""
    return [p for p, _, _ in reversed(mountinfo()) if p.startswith(top + "/")]


def drop_caches(level):
    """Writes back dirty data and drops the kernel's caches (1 pages, 2 dentries and inodes,
    3 both); False where /proc/sys/vm/drop_caches cannot be written."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write(f"{level}\n")
        return True
    except OSError:
        return False


def proc_tree(pid):
    """pid and all its descendants (a daemon and its helpers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_usage(pid):
    """(RSS in MiB, open fds) summed over pid's process tree."""
    rss_kib, fds = 0, 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss_kib += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return rss_kib / 1024.0, fds


def fd_targets(pid):
    """What pid's fds point at."""
    out = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return out


def held_fd_count(pid):
    """Open fds that name files, None once pid is gone. libfuse's per-thread splice pipes and
    /dev/fuse clones grow with the worker thread count under load; they are not held inodes."""
    targets = fd_targets(pid)
    if not targets and not os.path.exists(f"/proc/{pid}"):
        return None
    return len([t for t in targets if not t.startswith("pipe:") and t != "/dev/fuse"])


def abort_connection(dev):
    """Aborts the FUSE connection major:minor: processes stuck on a hung daemon get errors."""
    if not dev:
        return
    try:
        with open(f"/sys/fs/fuse/connections/{dev.split(':')[1]}/abort", "w") as f:
            f.write("1")
    except OSError:
        pass


def lazy_unmount(path):
    if fuse_mount_dev(path):
        subprocess.run(["fusermount3", "-u", "-z", path], capture_output=True)
    if is_mounted(path):
        subprocess.run(["umount", "-l", path], capture_output=True)


def tail(path, size=8192):
    """The last size bytes of a log file, as text ("" when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


class Daemon:
    """One FUSE daemon run in the foreground in its own session, its output appended to
    log_path. nofile sets RLIMIT_NOFILE for it, as a service manager's LimitNOFILE= would."""

    def __init__(self, argv, mnt, log_path, nofile=0):
        self.argv, self.mnt, self.log_path, self.nofile = argv, mnt, log_path, nofile
        self.proc, self.dev = None, None

    def start(self, timeout=15.0):
        """Starts the daemon and waits for its mount; None, or why it did not come up (the
        daemon is then killed)."""
        with open(self.log_path, "ab") as log:
            log.write(f"--- {' '.join(self.argv)}\n".encode())
            log.flush()
            nofile = self.nofile

            def limits():
                if nofile:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=limits)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.dev = fuse_mount_dev(self.mnt)
            if self.dev:
                return None
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                return f"daemon exited with status {rc} before mounting"
            time.sleep(0.01)
        self.kill()
        return f"not mounted after {timeout:.0f} s"

    def tail(self, size=8192):
        return tail(self.log_path, size)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def kill(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        lazy_unmount(self.mnt)

    def stop(self, term_timeout=10.0):
        """SIGTERM, as a user or a service manager would; escalates to a connection abort, a
        lazy unmount and SIGKILL. Returns (a note when it needed force or left the mount behind,
        the exit status)."""
        if self.proc is None:
            return None, None
        note = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=term_timeout)
            except subprocess.TimeoutExpired:
                note = f"did not exit within {term_timeout:.0f} s of SIGTERM; forced"
                abort_connection(self.dev)
                lazy_unmount(self.mnt)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        rc = self.proc.returncode
        if fuse_mount_dev(self.mnt):
            note = note or "left its mount behind after exiting"
            lazy_unmount(self.mnt)
        return note, rc
