"""scripts/bench's workload groups (seq, rand, meta, depth, tar, git, build, scale): each group
has optional setup_<g>(target), rep_<g>(target) and teardown_<g>(target), mixed into the Bench
class, whose run(), fsbench(), record() and rm() they use. docs/performance.md says what each
measures."""
import json
import os
import re
import shutil
import signal
import stat as statmod
import subprocess
import threading
import time

from fusetest import drop_caches, tree_usage


class TargetFailure(Exception):
    """A target misbehaved (crash, hang, error, wrong result); the run goes on without it."""


class Workloads:

    def rep_seq(self, t):
        f = os.path.join(t.path, "seqfile")
        mib = self.size["seq_mib"]
        self.record(t, "seq_write", self.fsbench(t, "seqwrite", f, mib)["seq_write"])
        drop_caches(3)
        for metric in ("seq_read_cold", "seq_read_warm"):
            r = self.fsbench(t, "seqread", f)
            if int(r["seq_read_bytes"]) != mib << 20:
                raise TargetFailure(f"{metric}: read {int(r['seq_read_bytes'])} bytes, "
                                    f"wrote {mib << 20}")
            self.record(t, metric, r["seq_read"])
        drop_caches(3)
        self.record(t, "mmap_read_cold", self.fsbench(t, "mmapread", f)["mmap_read"])
        self.run(t, ["rm", "-f", f], "rm seqfile")

    def setup_rand(self, t):
        self.fsbench(t, "seqwrite", os.path.join(t.path, "randfile"), self.size["rand_mib"])

    def rep_rand(self, t):
        f = os.path.join(t.path, "randfile")
        for direct in (0, 1):
            for jobs in (1, 2):
                if not direct:  # warm the page cache in a separate open, as a reader would
                    self.fsbench(t, "seqread", f)
                cmd = ["fio", "--name=randread", f"--filename={f}", "--rw=randread", "--bs=4k",
                       f"--size={self.size['rand_mib']}M", "--ioengine=psync",
                       f"--direct={direct}", f"--numjobs={jobs}", "--group_reporting",
                       "--invalidate=0", "--time_based", f"--runtime={self.size['rand_runtime']}",
                       "--output-format=json"]
                _, out = self.run(t, cmd, f"fio randread direct={direct} jobs={jobs}")
                try:
                    iops = json.loads(out[out.index("{"):])["jobs"][0]["read"]["iops"]
                except (ValueError, KeyError, IndexError) as e:
                    raise TargetFailure(f"fio output not understood ({e}): {out[:500]}")
                if iops <= 0:
                    raise TargetFailure(f"fio randread direct={direct} jobs={jobs}: no I/O done")
                kind = "direct" if direct else "buf"
                self.record(t, f"rand_read_{kind}_{jobs}j", iops)

    def teardown_rand(self, t):
        self.run(t, ["rm", "-f", os.path.join(t.path, "randfile")], "rm randfile")

    def rep_meta(self, t):
        d = os.path.join(t.path, "meta")
        r = self.fsbench(t, "meta", d, self.size["meta_files"])
        for m in ("create", "stat_warm", "stat_cold", "list", "list_stat_cold", "unlink"):
            self.record(t, m, r[m])
        r = self.fsbench(t, "links", os.path.join(t.path, "links"), self.size["meta_files"])
        for m in ("symlink", "lstat_link_warm", "readlink_warm", "readlink_cold"):
            self.record(t, m, r[m])

    def rep_recovery(self, t):
        """resume=on targets: how long the mount waits for the next daemon."""
        if not t.resumable:
            return
        ready = os.path.join(t.supervisor_dir, "ready")

        def readies():
            with open(ready) as f:
                return len(f.read().split())

        def daemon_pid():
            with open(os.path.join(t.supervisor_dir, "daemon.pid")) as f:
                return int(f.read())

        # A crash: the first LOOKUP (of a name never looked up, so no cache answers it) that a
        # daemon answers after the kill.
        self.recovery_names = getattr(self, "recovery_names", 0) + 1
        probe = os.path.join(t.path, f"recovery-probe-{self.recovery_names}")
        before = readies()
        t0 = time.monotonic()
        os.kill(daemon_pid(), signal.SIGKILL)
        while True:
            try:
                os.stat(probe)
            except FileNotFoundError:
                pass
            except OSError:
                time.sleep(0.001)  # the dying daemon's own requests fail (ECONNABORTED)
                continue
            break
        self.record(t, "recovery_kill", (time.monotonic() - t0) * 1000)
        self.wait_readies(t, readies, before + 1)
        # A planned restart: SIGHUP to the supervisor is SIGTERM to the daemon and a new one.
        before = readies()
        t0 = time.monotonic()
        os.kill(t.pid, signal.SIGHUP)
        self.wait_readies(t, readies, before + 1)
        self.record(t, "recovery_handover", (time.monotonic() - t0) * 1000)
        self.recover_under_load(t, readies, daemon_pid)

    def recover_under_load(self, t, readies, daemon_pid):
        """A SIGKILL while 4 threads create, write and rename: the requests the daemon had taken
        are resent to the next one and answered once. Records the longest wait of any call and
        how many requests the next daemon got again; a failed call fails the target."""
        stop = threading.Event()
        waits, errors = [], []

        def work(n):
            i = 0
            while not stop.is_set():
                path = os.path.join(t.path, f"recovery-load-{n}-{i % 16}")
                began = time.monotonic()
                try:
                    with open(path, "w") as f:
                        f.write(str(i))
                    os.replace(path, path + ".done")
                except OSError as e:
                    errors.append(f"{path}: {e}")
                    return
                waits.append(time.monotonic() - began)
                i += 1

        workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for w in workers:
            w.start()
        time.sleep(0.2)
        before = readies()
        os.kill(daemon_pid(), signal.SIGKILL)
        self.wait_readies(t, readies, before + 1)
        time.sleep(0.3)
        stop.set()
        for w in workers:
            w.join()
        if errors:
            raise TargetFailure("a call failed across the kill: " + errors[0])
        self.record(t, "recovery_kill_load", max(waits) * 1000)
        out = subprocess.run([self.binaries["confinefs"], "status", t.mnt], capture_output=True,
                             text=True, timeout=10).stdout
        resent = re.search(r"^resent=(\d+)$", out, re.M)
        if resent is None:
            raise TargetFailure("status shows no resent= count")
        self.record(t, "recovery_resent", int(resent.group(1)))

    @staticmethod
    def wait_readies(t, readies, n):
        deadline = time.monotonic() + 10
        while readies() < n:
            if time.monotonic() > deadline:
                raise TargetFailure("no new daemon within 10 s")
            time.sleep(0.001)

    def rep_depth(self, t):
        d = os.path.join(t.path, "depth")
        prep = os.path.join(t.backing, "depth")  # cold chains are made behind the daemon's back
        r = self.fsbench(t, "depth", d, prep, "1,16,64", self.size["depth_warm"],
                         self.size["depth_cold"])
        for k, v in r.items():
            self.record(t, k, v)
        self.rm(t, d)

    def prepare_tar(self):
        tarball = os.path.join(self.assets, "include.tar")
        if os.path.exists(tarball):
            return tarball
        # Directories and regular files only: confinefs refuses symlink() and link() by design
        # (a link made inside could be followed by whoever reads the backing directory), so
        # symlinks are left out and hard links stored as plain files, the same for every target.
        src = self.size["tar_src"]
        parent = os.path.dirname(src)
        entries, files, size, skipped = [], 0, 0, 0
        for dirpath, dirnames, names in os.walk(src):
            dirnames.sort()
            entries.append(os.path.relpath(dirpath, parent))
            for n in sorted(names + [d for d in dirnames
                                     if os.path.islink(os.path.join(dirpath, d))]):
                path = os.path.join(dirpath, n)
                st = os.lstat(path)
                if statmod.S_ISREG(st.st_mode):
                    entries.append(os.path.relpath(path, parent))
                    files += 1
                    size += st.st_size
                else:
                    skipped += 1
        listing = os.path.join(self.assets, "include.list")
        with open(listing, "w") as f:
            f.write("\n".join(entries) + "\n")
        subprocess.run(["tar", "-C", parent, "-cf", tarball, "--no-recursion",
                        "--hard-dereference", "-T", listing], check=True)
        self.tar_expect = (files, size)
        self.info["tar"] = {"source": src, "files": files, "bytes": size,
                            "left_out_symlinks_and_specials": skipped,
                            "tarball_bytes": os.path.getsize(tarball)}
        return tarball

    def setup_tar(self, t):
        self.tarball = self.prepare_tar()

    def rep_tar(self, t):
        d = os.path.join(t.path, "tarx")
        self.run(t, ["mkdir", d], "mkdir tarx")
        s, _ = self.run(t, ["tar", "-xf", self.tarball, "-C", d], "tar x")
        self.record(t, "tar_x", s)
        r = self.fsbench(t, "readtree", d)
        if (int(r["readtree_files"]), int(r["readtree_bytes"])) != self.tar_expect:
            raise TargetFailure(f"read all: found {int(r['readtree_files'])} files "
                                f"/ {int(r['readtree_bytes'])} bytes, expected "
                                f"{self.tar_expect[0]} / {self.tar_expect[1]}")
        self.record(t, "tar_read_all", r["readtree"])
        s, _ = self.run(t, ["rm", "-rf", d], "rm -rf")
        self.record(t, "tar_rm", s)
        s, out = self.run(t, ["ls", "-A", t.path], "ls after rm")
        if "tarx" in out.split():
            raise TargetFailure("rm -rf left the tree behind")

    def git_env(self):
        env = dict(os.environ, HOME=self.assets, GIT_CONFIG_NOSYSTEM="1",
                   GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
        env.pop("GIT_DIR", None)
        env.pop("GIT_WORK_TREE", None)
        return env

    def prepare_git(self):
        tarball = os.path.join(self.assets, "repo.tar")
        if os.path.exists(tarball):
            return tarball
        repo = os.path.join(self.assets, "repo")
        n = self.size["git_files"]
        for i in range(n):
            sub = os.path.join(repo, f"dir{i // 100:03d}")
            if i % 100 == 0:
                os.makedirs(sub)
            with open(os.path.join(sub, f"file{i:05d}.c"), "w") as f:
                f.write(f"/* file {i} */\nint f{i}(void) {{ return {i}; }}\n")
        env = self.git_env()
        # No background auto-gc: it would still be writing .git while tar reads it.
        g = ["git", "-c", "safe.directory=*", "-c", "gc.auto=0", "-c", "maintenance.auto=false",
             "-C", repo]
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
            subprocess.run(g + cmd, env=env, check=True)
        subprocess.run(["tar", "-C", self.assets, "-cf", tarball, "repo"], check=True)
        shutil.rmtree(repo)
        return tarball

    def git_status(self, t, what):
        repo = os.path.join(t.path, "repo")
        s, out = self.run(t, ["git", "-c", "safe.directory=*", "-C", repo, "status",
                              "--porcelain"], what, env=self.git_env())
        if out.strip():
            raise TargetFailure(f"{what}: the checkout is not clean:\n{out[:1000]}")
        return s

    def setup_git(self, t):
        tarball = self.prepare_git()
        self.run(t, ["tar", "-xf", tarball, "-C", t.path], "extract git checkout")
        self.git_status(t, "git status (index refresh)")

    def rep_git(self, t):
        self.git_status(t, "git status warm-up")
        self.record(t, "git_status_warm", self.git_status(t, "git status warm"))
        drop_caches(3)
        self.record(t, "git_status_cold", self.git_status(t, "git status cold"))

    def teardown_git(self, t):
        self.rm(t, os.path.join(t.path, "repo"))

    def rep_build(self, t):
        d = os.path.join(t.path, "build")
        r = self.fsbench(t, "build", d, self.size["build_units"], 2)
        self.record(t, "build", r["build"])
        self.rm(t, d)

    def setup_scale(self, t):
        # Made in the backing directory directly: the daemon has not seen these names.
        self.fsbench(None, "mkfiles", os.path.join(t.backing, "scale"), self.size["scale_dirs"],
                     self.size["scale_per_dir"], what="mkfiles")

    def rep_scale(self, t):
        settle = self.size["settle"]
        n = self.size["scale_dirs"] * self.size["scale_per_dir"]
        if t.fuse:
            t.remount()
            time.sleep(min(settle, 1.0))
            rss, _ = tree_usage(t.pid)
            self.record(t, "rss_idle", rss)
        else:
            drop_caches(2)
        r = self.fsbench(t, "lookup", os.path.join(t.path, "scale"), self.size["scale_dirs"],
                         self.size["scale_per_dir"])
        self.record(t, "lookup_cold", r["lookup"])
        if t.fuse:
            rss, fds = tree_usage(t.pid)
            self.record(t, "rss_lookup", rss)
            self.record(t, "fds_lookup", fds)
            drop_caches(2)
            time.sleep(settle)
            t.check_alive("forget")
            rss, fds = tree_usage(t.pid)
            self.record(t, "rss_forget", rss)
            self.record(t, "fds_forget", fds)
        self.info["scale_files"] = n

    def teardown_scale(self, t):
        if not t.alive():
            return
        self.rm(t, os.path.join(t.path, "scale"))
