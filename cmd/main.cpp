// confinefs: start-up in a fixed order (threats 7, 18-20 in docs/threat-model.md):
//   parse options (or run a subcommand) -> look up the tenant (-o user=) -> raise RLIMIT_NOFILE ->
//   open BACKING (no following) -> clear a stale mount at MOUNTPOINT, refuse a live one -> check
//   MOUNTPOINT -> load policy -> build the session (validates mount options) -> bind BACKING onto
//   itself unless it is a mount root (the first step that leaves something mounted) -> exit
//   signals -> mount (or adopt a predecessor's connection) -> keep state for a successor ->
//   daemonize unless -f -> fork the unmount helper, bind the control socket ->
//   confine: no_new_privs, Landlock, privileges (tenant uid, or the serving capabilities as root or
//   as the service user), seccomp
//   -> start the threads (SIGHUP reload, control), which inherit all of it -> serve (READY=1 once
//   the kernel completed INIT) -> STOPPING=1 -> the helper unmounts.
// The steps where resume=on and resume=off differ are the mount's life (cmd/startup.h,
// MountLife), chosen once; run() itself never asks which.
// Every restriction is applied while the daemon has a single thread: Landlock and seccomp bind
// the calling thread and its later children, and libfuse creates its workers inside serve().
// Exit status: 0 after a clean unmount (signal or fusermount3 -u), 2 for usage and configuration
// errors (nothing is mounted then), 1 for failures at run time: each phase returns a Failure that
// says which (cmd/failure.h), and main() reports it once.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>

#include "cmd/after_stop.h"
#include "cmd/backing_mount.h"
#include "cmd/backing_registrar.h"
#include "cmd/cache_mode.h"
#include "cmd/control.h"
#include "cmd/fd_store.h"
#include "cmd/hand_over.h"
#include "cmd/kernel_mount.h"
#include "cmd/landlock.h"
#include "cmd/logging.h"
#include "cmd/mount_record.h"
#include "cmd/mountpoint.h"
#include "cmd/notify.h"
#include "cmd/older_views.h"
#include "cmd/options.h"
#include "cmd/policy_source.h"
#include "cmd/privileges.h"
#include "cmd/reload.h"
#include "cmd/seccomp_filter.h"
#include "cmd/stale_mount.h"
#include "cmd/startup.h"
#include "cmd/takeover.h"
#include "cmd/unmount_helper.h"
#include "fusefs/fuse/fuse_api.h"
#include "fusefs/fuse/node_reclaimer.h"
#include "fusefs/fuse/session.h"
#include "fusefs/mount/filesystem.h"
#include "fusefs/sys/syscalls.h"

namespace {

using namespace confinefs;

using cmd::Failure;
using cmd::Identity;
using cmd::MountLife;
using cmd::MountTarget;
using cmd::Phase;
using cmd::Serving;

void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

size_t fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return static_cast<size_t>(lim.rlim_cur);
}

Failure backing_failure(const std::string& path, int code) {
  struct stat st {};
  // O_NOFOLLOW|O_DIRECTORY reports a symlink as ENOTDIR; say what it really is.
  if (code == ENOTDIR && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) code = ELOOP;
  switch (code) {
    case ELOOP:
      return Failure::usage("BACKING " + path + " is a symbolic link; give the real directory");
    case ENOTDIR: return Failure::usage("BACKING " + path + " is not a directory");
    default: return Failure::usage(cmd::with_errno("BACKING " + path, code));
  }
}

// With mount.fuse3's drop_privileges the kernel mount already exists (MOUNTPOINT is /dev/fd/N),
// made with exactly the options we were given: without these three it would be a mount with no
// permission checks that honours setuid bits and devices, so it is refused.
Phase<> check_premounted(const cmd::Options& o) {
  if (!o.mountpoint.starts_with("/dev/fd/")) return {};
  for (const char* needed : {"default_permissions", "nosuid", "nodev"}) {
    if (std::find(o.mount_options.begin(), o.mount_options.end(), needed) ==
            o.mount_options.end() ||
        !o.overridden.empty()) {
      return Failure::usage(
          "the mount at " + o.mountpoint +
          " was made by mount.fuse3 (drop_privileges); add default_permissions,nosuid,nodev "
          "to its options");
    }
  }
  return {};
}

// What the options ask for that cannot work here, found before anything is opened.
Phase<> check_options(const cmd::Options& opts) {
  if (auto ok = check_premounted(opts); !ok) return ok;
  if (opts.user && opts.service_user) {
    return Failure::usage("user= and service_user= exclude each other");
  }
  if (opts.landlock == cmd::LandlockMode::kRequire && cmd::landlock_abi() == 0) {
    return Failure::usage("landlock=require, but this kernel has no Landlock (or it is disabled)");
  }
  if (opts.passthrough == fuse::PassthroughMode::kRequire &&
      (opts.cache == cmd::CacheMode::kFull || ::geteuid() != 0)) {
    return Failure::usage(
        "passthrough=require needs confinefs started as root, and cache=strict or auto (the "
        "kernel does not combine passthrough with cache=full's writeback cache)");
  }
  if (opts.resume &&
      (!cmd::has_fd_store() || ::geteuid() != 0 || opts.mountpoint.starts_with("/dev/fd/"))) {
    return Failure::usage(
        "resume=on needs confinefs started as root, mounting by itself, under a supervisor that "
        "keeps file descriptors ($NOTIFY_SOCKET with FDSTORE=1; docs/deployment.md)");
  }
  return {};
}

// on: a file's first open proves its name was its only link (guards/verify.cpp); coarse-ctime:
// the proof runs, but BACKING's timestamps do not show every change, which it rests on.
const char* hardlink_proof_name(const FilesystemConfig& config) {
  if (!config.prove_sole_names) return "off";
  return config.ctime == FilesystemConfig::Ctime::kPerChange ? "on" : "coarse-ctime";
}

std::string status_text(const Identity& id, Filesystem& fs, const fuse::Passthrough& passthrough) {
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                             id.started);
  auto& c = fs.counters();
  return "live=yes\ntenant=" + fs.policy()->tenant() + "\nbacking=" + id.backing +
         "\nmountpoint=" + id.mountpoint + "\npid=" + std::to_string(::getpid()) +
         "\nuid=" + std::to_string(::geteuid()) +
         "\nlandlock=" + (id.landlock_abi > 0 ? "abi" + std::to_string(id.landlock_abi) : "off") +
         "\nseccomp=" + (id.seccomp ? "on" : "off") +
         "\nbacking_mount=" + cmd::backing_mount_name(id.backing_mount) +
         "\npassthrough=" + passthrough.state_name() +
         "\nhardlink_proof=" + hardlink_proof_name(fs.config()) +
         "\nuptime_seconds=" + std::to_string(up.count()) +
         "\noperations=" + std::to_string(c.operations.load()) +
         "\nrefusals=" + std::to_string(c.refusals.load()) +
         "\ndenials=" + std::to_string(c.denials.load()) +
         "\nreloads=" + std::to_string(c.reloads.load()) +
         "\nreloads_refused=" + std::to_string(c.reloads_refused.load()) +
         "\nresent=" + std::to_string(c.resent.load()) + "\n";
}

size_t thread_count() {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// Landlock as -o landlock= asks.
Phase<> apply_landlock(const cmd::Options& opts, Filesystem& fs, Identity& id) {
  if (opts.landlock == cmd::LandlockMode::kOff) {
    spdlog::warn("landlock=off: a directory moved out of BACKING stays writable (threat 7)");
    return {};
  }
  cmd::LandlockRules rules{fs.resolver().root(), std::nullopt, opts.policy_file, false};
  auto p = fs.policy();
  if (p->audit().sink == policy::AuditSink::kFile) rules.audit_file = p->audit().file;
  const char* notify = std::getenv("NOTIFY_SOCKET");
  rules.allow_abstract_unix = notify != nullptr && notify[0] == '@';
  auto abi = cmd::restrict_to(rules);
  if (abi) {
    id.landlock_abi = abi.value();
    spdlog::info("landlock ABI {}: confined to {}", abi.value(), opts.backing);
    return {};
  }
  if (opts.landlock == cmd::LandlockMode::kRequire) {
    return Failure::runtime(cmd::with_errno("landlock=require: cannot apply Landlock", abi.code()));
  }
  spdlog::warn(
      "Landlock unavailable ({}): a directory moved out of BACKING stays writable "
      "(threat 7); use landlock=require to refuse to run like this",
      std::strerror(abi.code()));
  return {};
}

// The passthrough registrar (cmd/backing_registrar.h), when -o passthrough= asks and this daemon
// can have one: root, on a mount of its own (not with cache=full, whose writeback cache the
// kernel does not combine with passthrough). Forked after no_new_privs, before the daemon's
// Landlock (it applies its own) and the privilege drop.
Phase<> start_passthrough(const cmd::Options& opts, Serving& s) {
  std::unique_ptr<fuse::BackingRegistrar> registrar;
  if (opts.passthrough != fuse::PassthroughMode::kOff && s.mounted.channel.valid() &&
      !s.state.timeouts.writeback) {
    bool landlock = opts.landlock != cmd::LandlockMode::kOff && cmd::landlock_abi() > 0;
    auto started = cmd::BackingRegistrarProcess::start(s.mounted.channel.ref(),
                                                       s.fs.resolver().root(), landlock);
    if (started) {
      registrar = std::move(started.value());
    } else {
      spdlog::warn("passthrough: cannot start the registrar: {}", std::strerror(started.code()));
    }
  }
  s.mounted.channel.reset();
  if (opts.passthrough == fuse::PassthroughMode::kRequire && !registrar) {
    return Failure::runtime(
        "passthrough=require: this daemon cannot register backing files (it needs root, a mount "
        "of its own without allow_root or auto_unmount, and cache=strict or auto)");
  }
  if (opts.passthrough != fuse::PassthroughMode::kOff && !registrar) {
    spdlog::info("passthrough unavailable: data goes through the daemon");
  }
  s.state.passthrough.configure(opts.passthrough, std::move(registrar), [&s] {
    s.id.passthrough_refused = true;
    s.session.request_exit();
  });
  return {};
}

// no_new_privs, the passthrough registrar, Landlock, the privilege drop, seccomp: in this order,
// on the only thread.
Phase<> confine(const cmd::Options& opts, Serving& s) {
  Filesystem& fs = s.fs;
  Identity& id = s.id;
  const std::optional<cmd::Tenant>& tenant = s.tenant;
  if (size_t n = thread_count(); n != 1) {
    return Failure::runtime("internal error: " + std::to_string(n) +
                            " threads before confinement; only the first would be bound");
  }
  if (auto ok = cmd::set_no_new_privs(); !ok) {
    return Failure::runtime(cmd::with_errno("no_new_privs", ok.code()));
  }
  // Log timestamps: load the time zone now; /etc/localtime is out of reach afterwards.
  ::tzset();
  // Landlock before the id switch: the rules name files (policy, audit log) only root may open.
  // The registrar before the daemon's Landlock: it confines itself, executing allowed.
  if (auto ok = start_passthrough(opts, s); !ok) return ok;
  if (auto ok = apply_landlock(opts, fs, id); !ok) return ok;
  if (auto ok = cmd::drop_privileges(tenant); !ok) {
    return Failure::runtime(cmd::with_errno("dropping privileges", ok.code()));
  }
  if (tenant) spdlog::info("running as {} (uid {} gid {})", tenant->name, tenant->uid, tenant->gid);
  if (opts.seccomp) {
    if (auto ok = cmd::install_seccomp_allow_list(); !ok) {
      return Failure::runtime(cmd::with_errno("seccomp", ok.code()));
    }
    id.seccomp = true;
  }
  return {};
}

Phase<> serve_confined(const cmd::Options& opts, Serving& s, MountLife& life) {
  Filesystem& fs = s.fs;
  fuse::Session& session = s.session;
  std::unique_ptr<cmd::ControlServer> control;
  if (s.place != nullptr) {  // none when mount.fuse3 mounted it for us
    if (auto ok = life.before_confinement(s); !ok) return ok;
    if (s.mounted.own) s.mounted.own->release();
    std::string socket = cmd::control_socket_path(s.id.mountpoint);
    auto bound = cmd::ControlServer::bind(
        socket, [&] { return status_text(s.id, fs, s.state.passthrough); });
    if (bound) {
      control = std::move(bound.value());
    } else {
      spdlog::warn("control socket {}: {}; status will not answer", socket,
                   std::strerror(bound.code()));
    }
  }
  if (auto watch = MountWatch::open(fs.resolver()); watch) {
    fs.watch_mounts(std::move(watch.value()));
  } else {
    spdlog::warn("cannot read the mount table ({}): listings stat every entry",
                 std::strerror(watch.code()));
  }
  if (auto ok = confine(opts, s); !ok) return ok;
  // Created after confinement, so these threads inherit it.
  cmd::ReloadOnHangup hangup([&] { cmd::reload_policy(opts, fs); });
  if (!hangup.installed()) spdlog::warn("cannot install the SIGHUP handler: no policy reload");
  if (control) control->start();
  if (auto ok = life.serving(s); !ok) return ok;
  fuse::NodeReclaimer reclaimer(session, fs.nodes(), fuse::node_budget(opts.max_nodes, fd_limit()));
  auto served = session.serve();
  cmd::notify_stopping("stopping: " + s.id.line());
  control.reset();
  return life.after_serving(s, served);
}

// Whether BACKING keeps every spelling of a name apart (threat 34), probed through a second
// handle on the checked directory, before anything is mounted.
FilesystemConfig::Names probe_name_folding(const Fd& dir, const std::string& backing) {
  auto handle = sys::dup(dir.ref());
  if (!handle) return FilesystemConfig::Names::kUnknown;
  auto resolver = Resolver::open_root(std::move(handle.value()));
  if (!resolver) return FilesystemConfig::Names::kUnknown;
  auto folds = resolver->folds_names();
  if (!folds) {
    spdlog::warn("cannot tell whether {} folds names: {}", backing, std::strerror(folds.code()));
    return FilesystemConfig::Names::kUnknown;
  }
  return folds.value() ? FilesystemConfig::Names::kFolded : FilesystemConfig::Names::kDistinct;
}

// Whether BACKING's ctime shows every change made after it was read (guards/verify.cpp's proof
// that a name is a file's only link rests on it), probed like name folding.
FilesystemConfig::Ctime probe_ctime(const Fd& dir, const cmd::Options& opts) {
  if (!opts.hardlink_proof) return FilesystemConfig::Ctime::kUnknown;
  auto handle = sys::dup(dir.ref());
  if (!handle) return FilesystemConfig::Ctime::kUnknown;
  auto resolver = Resolver::open_root(std::move(handle.value()));
  if (!resolver) return FilesystemConfig::Ctime::kUnknown;
  auto every_change = resolver->ctime_changes_after_read();
  if (every_change && every_change.value()) return FilesystemConfig::Ctime::kPerChange;
  spdlog::warn(
      "{}: {}; a hardlink raced in and out of a name is then stopped only by the BACKING bind "
      "and the link-count checks (docs/threat-model.md)",
      opts.backing,
      every_change ? "changes made within one clock tick share a ctime (no multigrain timestamps)"
                   : "cannot tell whether its ctime shows every change: " +
                         std::string(std::strerror(every_change.code())));
  return every_change ? FilesystemConfig::Ctime::kCoarse : FilesystemConfig::Ctime::kUnknown;
}

Phase<MountTarget> open_mount_target(const cmd::Options& opts, const struct stat& backing,
                                     MountLife& life) {
  MountTarget target;
  if (opts.mountpoint.starts_with("/dev/fd/")) return target;
  auto opened = cmd::MountPlace::open(opts.mountpoint);
  if (!opened) return Failure::usage("mountpoint " + opened.error().message);
  target.place = std::move(opened.value());
  auto taken = life.predecessor(*target.place, backing);
  if (!taken) return taken.error();
  if (taken.value()) {
    target.takeover.emplace(std::move(*taken.value()));
    return target;  // the predecessor's mount, checked by its ids: nothing to clear or check
  }
  if (auto ok = cmd::clear_stale_mount(*target.place); !ok) return ok.error();
  auto checked = cmd::check_mountpoint(*target.place, backing);
  if (!checked) return checked.error();
  target.checked_dir = std::move(checked.value());
  return target;
}

// Whether the kernel resends requests on FUSE_NOTIFY_RESEND (protocol 7.40, Linux 6.9) as a
// successor needs: 6.10, whose resend also clears a request's sent state (6.9's left it set).
bool kernel_resends_requests() {
  struct utsname u {};
  unsigned major = 0, minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%u.%u", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 10);
}

// The libfuse session, not yet mounted; it validates the mount options.
Phase<std::unique_ptr<fuse::Session>> make_session(const cmd::Options& opts,
                                                   fuse::MountState& state) {
  fuse::SessionOptions so;
  so.mountpoint = opts.mountpoint;
  so.mount_options = cmd::mount_options(opts);
  std::erase_if(so.mount_options, [](const std::string& w) { return cmd::kernel_only_option(w); });
  so.debug = opts.debug;
  if (opts.single_thread) so.max_threads = 1;
  // resume=on: every worker reads the one connection the supervisor keeps. A worker's own clone
  // of it would close with the daemon, and the kernel fail the requests it had read
  // (ECONNABORTED) instead of keeping them for the successor to ask back (FUSE_NOTIFY_RESEND).
  // A kernel that cannot resend keeps the clones: its requests fail, never hang.
  if (opts.resume && kernel_resends_requests()) so.clone_fd = false;
  auto session = fuse::Session::create(&state, so);
  if (!session) return Failure::usage("invalid mount options (see above)");
  return std::move(session).value();
}

// Processes that reach BACKING outside its mount root (cmd/older_views.h), found as root before
// privileges go: named in the log; with backing_mount=require the start is refused (and a bind
// this daemon just made is removed again).
Phase<> check_older_views(const cmd::Options& opts, const cmd::BackingRoot& backing, Identity& id) {
  if (backing.state == cmd::BackingMountState::kNone || ::geteuid() != 0) return {};
  auto attr = sys::fstat(backing.dir.ref());
  if (!attr) return {};
  std::vector<cmd::OlderView> views = cmd::find_older_views(attr.value(), opts.backing);
  if (views.empty()) return {};
  for (const auto& view : views) {
    spdlog::warn(
        "{} is reached outside its mount root by {}: links from there are not stopped "
        "by the mount (docs/deployment.md, 'BACKING as a mount at boot')",
        opts.backing, cmd::describe(view));
  }
  id.backing_mount = cmd::BackingMountState::kExposed;
  if (opts.backing_mount != cmd::BackingMountMode::kRequire) return {};
  if (backing.bind.valid()) (void)cmd::remove_bind(backing.bind);
  return Failure::usage("backing_mount=require: " + std::to_string(views.size()) + " view(s) of " +
                        opts.backing + " older than its mount remain (first: " +
                        cmd::describe(views.front()) + "); end them and start again");
}

// The resolver over BACKING, once it is on a mount of its own (the first step that leaves
// something mounted: every usage check has passed before it).
Phase<Resolver> serve_from(Fd dir, const cmd::Options& opts, Identity& id) {
  // BACKING held first (before its mount is looked at): a stop of another daemon on the same
  // BACKING then never removes a bind this one found and serves behind.
  if (::geteuid() == 0) {
    if (auto attr = sys::fstat(dir.ref())) {
      id.record.backing_dev = attr->st_dev;
      id.record.backing_ino = attr->st_ino;
      auto lock = cmd::hold_backing(attr.value());
      if (lock) {
        id.backing_lock = std::move(lock.value());
      } else {
        spdlog::warn(
            "cannot hold {} for this daemon ({}): another daemon's stop may remove its "
            "bind",
            opts.backing, std::strerror(lock.code()));
      }
    }
  }
  auto backing = cmd::make_own_mount(std::move(dir), opts.backing, opts.backing_mount);
  if (!backing) return backing_failure(opts.backing, backing.code());
  id.backing_mount = backing->state;
  if (auto ok = check_older_views(opts, backing.value(), id); !ok) return ok.error();
  id.bind = std::move(backing->bind);
  if (::geteuid() == 0) {
    if (id.bind.valid()) {
      id.record.bind = cmd::statx_mount_ids(id.bind.get(), "", AT_EMPTY_PATH);
      char real[PATH_MAX];
      std::string link = "/proc/self/fd/" + std::to_string(id.bind.get());
      ssize_t n = ::readlink(link.c_str(), real, sizeof real);
      if (n > 0 && real[0] == '/') id.record.backing.assign(real, static_cast<size_t>(n));
    }
  }
  auto resolver = Resolver::open_root(std::move(backing->dir));
  if (!resolver) return backing_failure(opts.backing, resolver.code());
  return std::move(resolver).value();
}

FilesystemConfig filesystem_config(const cmd::Options& opts, FilesystemConfig::Names names,
                                   FilesystemConfig::Ctime ctime) {
  FilesystemConfig config;
  config.prove_sole_names = opts.hardlink_proof;
  config.ctime = ctime;
  // Every node holds an fd: a table (with its quarter of reserve, nodes/node_table.h) larger than
  // the fd limit would run out of fds for every user before a caller's share ever counts.
  size_t fds = fd_limit();
  size_t fit = fds > 2048 ? (fds - 1024) * 4 / 5 : 1024;
  config.max_nodes = std::min(opts.max_nodes, fit);
  if (config.max_nodes < opts.max_nodes) {
    spdlog::info("max_nodes {} lowered to {}: the fd limit is {}", opts.max_nodes, config.max_nodes,
                 fds);
  }
  // With user= the daemon is the tenant and creates everything as the tenant.
  config.caller_credentials = !opts.user;
  config.names = names;
  return config;
}

// Detaches unless -f; /proc/self/fd is reopened for the new process.
Phase<> daemonize(const cmd::Options& opts, Filesystem& fs) {
  if (opts.foreground) return {};
  if (fuse_daemonize(0) != 0) return Failure::runtime("cannot detach from the terminal");
  if (auto ok = fs.resolver().rebind_proc(); !ok) {
    return Failure::runtime(
        cmd::with_errno("cannot reopen /proc/self/fd after daemonizing", ok.code()));
  }
  return {};
}

// The start-up phases, in the order of the comment at the top of this file.
Phase<> run(const cmd::Options& opts) {
  if (auto ok = check_options(opts); !ok) return ok;
  for (const auto& o : opts.overridden) {
    spdlog::warn("option '{}' ignored: confinefs always mounts nosuid,nodev", o);
  }
  auto tenant = cmd::lookup_tenant(opts.service_user ? opts.service_user : opts.user, opts.group);
  if (!tenant) return tenant.error();
  if (tenant.value()) tenant.value()->service = opts.service_user.has_value();
  // A file size limit set on the daemon (prlimit) must fail the write, not kill the daemon.
  ::signal(SIGXFSZ, SIG_IGN);
  raise_fd_limit();

  auto dir = cmd::open_backing_dir(opts.backing);
  if (!dir) return backing_failure(opts.backing, dir.code());
  auto dir_attr = sys::fstat(dir->ref());
  if (!dir_attr) return backing_failure(opts.backing, dir_attr.code());
  std::unique_ptr<MountLife> life = life_for(opts);
  auto target = open_mount_target(opts, dir_attr.value(), *life);
  if (!target) return target.error();
  auto policy = cmd::load_startup_policy(opts);
  if (!policy) return policy.error();
  FilesystemConfig::Names names = probe_name_folding(dir.value(), opts.backing);
  if (auto ok = cmd::check_names_keep_rules(*policy.value(), opts.backing, names); !ok) return ok;
  FilesystemConfig::Ctime ctime = probe_ctime(dir.value(), opts);

  const cmd::MountPlace* place = target->place ? &*target->place : nullptr;
  Identity id{policy.value()->tenant(), opts.backing, place ? place->canonical() : opts.mountpoint};
  // fs is set below, once BACKING is on its own mount; nothing runs these before serve().
  fuse::MountState state{nullptr, cmd::timeouts_for(opts.cache), [&] {
                           spdlog::info("mounted {} at {} tenant={}", opts.backing, opts.mountpoint,
                                        state.fs->policy()->tenant());
                           cmd::notify_ready("ready: " + id.line());
                         }};
  auto session = make_session(opts, state);
  if (!session) return session.error();

  auto resolver = serve_from(std::move(dir.value()), opts, id);
  if (!resolver) return resolver.error();
  Filesystem fs(std::move(resolver.value()), filesystem_config(opts, names, ctime), policy.value());
  state.fs = &fs;

  // SIGHUP ignored until the reload handler exists (after confinement): libfuse takes only
  // signals still at their default, and would make SIGHUP end the session.
  ::signal(SIGHUP, SIG_IGN);
  if (!session.value()->install_exit_signals()) {
    return Failure::runtime("cannot install signal handlers");
  }
  auto mounted = life->mount(target.value(), id, *session.value());
  if (!mounted) return mounted.error();
  target->checked_dir.reset();
  if (auto ok = life->keep(target.value(), mounted.value(), fs, state); !ok) return ok;
  if (auto ok = daemonize(opts, fs); !ok) return ok;
  Serving serving{fs, *session.value(), state, place, mounted.value(), tenant.value(), id};
  auto served = serve_confined(opts, serving, *life);
  // What the life started (unmount helper, hand-over) ends here, while this daemon still holds
  // BACKING and its session, whichever way serving ended.
  life.reset();
  return served;
}

// "confinefs status MOUNTPOINT", "confinefs unmount-stale MOUNTPOINT",
// "confinefs unmount-after-stop MOUNTPOINT UNIT", "confinefs check-policy FILE"; -1 when argv
// is not a subcommand.
int run_subcommand(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "unmount-after-stop") {
    return cmd::unmount_after_stop_command(argv[2], argv[3]);
  }
  if (argc != 3) return -1;
  std::string_view sub = argv[1];
  if (sub == "status") return cmd::status_command(argv[2]);
  if (sub == "unmount-stale") return cmd::unmount_stale_command(argv[2]);
  if (sub == "check-policy") return cmd::check_policy(argv[2]);
  return -1;
}

// The command line: a mount(8) helper's argv is translated, a subcommand runs on its own,
// --help, --version and --check-policy answer at once; anything else starts the daemon.
Phase<> main_phases(int argc, char** argv, int& exit_status) {
  std::vector<char*> args(argv, argv + argc);
  if (std::filesystem::path(argv[0]).filename().string().starts_with("mount.")) {
    auto translated = cmd::mount_helper_args(argc, argv);
    if (!translated) return translated.error();
    args = std::move(translated.value());
  }
  if (int rc = run_subcommand(static_cast<int>(args.size()), args.data()); rc >= 0) {
    exit_status = rc;
    return {};
  }
  auto opts = cmd::parse(static_cast<int>(args.size()), args.data());
  if (!opts) return Failure::usage(opts.error().message + " (see --help)");
  if (opts->show_help) {
    cmd::print_usage(argv[0]);
    std::printf(
        "\nsubcommands:\n"
        "  %s status MOUNTPOINT         is it live, which tenant, counters (root)\n"
        "  %s unmount-stale MOUNTPOINT  lazily unmount a dead confinefs mount there\n"
        "  %s unmount-after-stop MOUNTPOINT UNIT  ExecStopPost= with resume=on: unmount\n"
        "                               unless systemd starts UNIT again\n"
        "  %s check-policy FILE         as --check-policy\n",
        argv[0], argv[0], argv[0], argv[0]);
    return {};
  }
  if (opts->show_version) {
    std::printf("confinefs %s\nlibfuse %s\n", CONFINEFS_VERSION, fuse_pkgversion());
    return {};
  }
  if (auto ok = cmd::setup_logging(opts->log_level); !ok) return ok;
  if (opts->check_policy_file) {
    exit_status = cmd::check_policy(*opts->check_policy_file);
    return {};
  }
  return run(opts.value());
}

}  // namespace

int main(int argc, char** argv) {
  int exit_status = 0;
  if (auto ok = main_phases(argc, argv, exit_status); !ok) return cmd::report(ok.error());
  return exit_status;
}
