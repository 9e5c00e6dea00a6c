// The two lives of a mount (cmd/startup.h, MountLife): OwnedMount for resume=off, KeptMount
// for resume=on, and the mounting, adopting and keeping each does.
#include <sys/statfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>

#include "cmd/control.h"
#include "cmd/fd_store.h"
#include "cmd/hand_over.h"
#include "cmd/stale_mount.h"
#include "cmd/startup.h"
#include "cmd/unmount_helper.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::cmd {

std::vector<std::string> mount_options(const Options& o) {
  // Ours come last, so nothing on the command line can take them away.
  std::vector<std::string> all = {"fsname=confinefs", "subtype=confinefs"};
  all.insert(all.end(), o.mount_options.begin(), o.mount_options.end());
  for (const char* forced : {"default_permissions", "nosuid", "nodev"}) all.emplace_back(forced);
  return all;
}

namespace {

// Mounts with the new mount API (as root, without allow_root or auto_unmount), so the mount's
// ids are exact (kernel_mount.h); nullopt when this daemon cannot (EPERM, ENOSYS).
Phase<std::optional<Mounted>> mount_by_itself(const Options& opts, Identity& id,
                                              const MountPlace& place, const Fd& checked_dir,
                                              fuse::Session& session) {
  auto words = kernel_mount_options(mount_options(opts));
  if (!words) return std::optional<Mounted>();
  auto own = KernelMount::mount(checked_dir.ref(), place, *words);
  if (!own) {
    if (own.code() == EPERM || own.code() == ENOSYS) {
      spdlog::debug("fsopen: {}", std::strerror(own.code()));
      return std::optional<Mounted>();
    }
    return Failure::runtime(with_errno("cannot mount at " + id.mountpoint, own.code()));
  }
  Fd channel = own->take_channel();
  auto copy = sys::dup(channel.ref());
  if (!copy) return Failure::runtime(with_errno("cannot copy the channel", copy.code()));
  if (auto ok = session.adopt(std::move(channel)); !ok) {
    return Failure::runtime(with_errno("cannot serve the mount", ok.code()));
  }
  // What root-run steps after this daemon may unmount (cmd/mount_record.h).
  if (::geteuid() == 0) {
    id.record.mount = own->identity();
    if (auto ok = record_mount(place.canonical(), id.record); !ok) {
      spdlog::warn("cannot record the mount at {} ({}): unmount-after-stop will leave it",
                   place.canonical(), std::strerror(ok.code()));
    }
  }
  return std::optional<Mounted>(
      Mounted{std::move(own.value()), std::move(copy.value()), std::nullopt, std::nullopt});
}

// The mount as libfuse makes it (with fusermount3 if need be): not root, allow_root or
// auto_unmount, or MOUNTPOINT is /dev/fd/N (mount.fuse3 mounted it).
Phase<Mounted> mount_by_libfuse(const Options& opts, Identity& id, fuse::Session& session) {
  for (const auto& w : opts.mount_options) {
    if (kernel_only_option(w) && !opts.mountpoint.starts_with("/dev/fd/")) {
      return Failure::runtime("option " + w +
                              " needs confinefs to mount by itself (as root, without allow_root "
                              "or auto_unmount)");
    }
  }
  if (auto ok = session.mount(); !ok) {
    return Failure::runtime("cannot mount at " + id.mountpoint + " (libfuse said why above)");
  }
  return Mounted{};
}

// resume=on, once serving ended: a stop signal leaves the mount and the stored state to the next
// daemon (the supervisor decides whether one comes: docs/deployment.md); anything else (the mount
// was unmounted, the connection could not be resumed) takes them out of the store.
Phase<> leave_for_successor(const fuse::Session& session, const fuse::ConnectionRecord& connection,
                            const Result<void>& served) {
  if (connection.replaying() && !connection.agreed()) {
    unstore_all();
    return Failure::runtime(
        "cannot resume the mount: this daemon answers INIT otherwise than the kernel agreed to "
        "(other options or another version); its sessions lose it, the next start mounts afresh");
  }
  if (served && session.exit_signal() != 0) {
    spdlog::info("stopped by signal {}; the mount stays for the next daemon (resume=on)",
                 session.exit_signal());
    return {};
  }
  unstore_all();
  if (!served) return Failure::runtime(with_errno("session ended with error", served.code()));
  spdlog::info("the mount is gone; nothing is kept for a next daemon");
  return {};
}

// resume=on, a predecessor's connection: served as it is, nothing is mounted.
Phase<Mounted> adopt_connection(Takeover& takeover, fuse::Session& session) {
  auto copy = sys::dup(takeover.channel.ref());
  if (!copy) return Failure::runtime(with_errno("cannot copy the channel", copy.code()));
  if (auto ok = session.adopt(std::move(takeover.channel)); !ok) {
    return Failure::runtime(with_errno("cannot serve the resumed connection", ok.code()));
  }
  return Mounted{std::nullopt, std::move(copy.value()), std::nullopt, std::nullopt};
}

// resume=on: what a successor needs (cmd/takeover.h), taken over or new (then stored with the
// connection), in force before the first request.
Phase<> keep_state(const Options& opts, MountTarget& target, Mounted& mounted, Filesystem& fs,
                   fuse::MountState& state) {
  auto kept = target.takeover ? Phase<KeptState>(std::move(target.takeover->kept))
                              : keep_for_successor(mounted.channel.ref(), mounted.own->identity(),
                                                   fs.nodes().root()->key(), opts.max_nodes);
  if (!kept) return kept.error();
  auto predecessor = kept->journal->predecessor();
  fs.nodes().observe(std::move(kept->journal), std::move(predecessor));
  if (target.takeover) {
    spdlog::info("resuming the mount: {} nodes the kernel holds are verified as it asks for them",
                 fs.nodes().recorded_count());
  }
  mounted.connection.emplace(std::move(kept->connection));
  state.passthrough.keep_in(std::move(kept->passthrough));
  fs.keep_attempts(std::move(kept->attempts));
  if (auto ok = fs.made_here().keep_in(std::move(kept->objects)); !ok) {
    return Failure::runtime(with_errno("resume=on: objects log", ok.code()));
  }
  auto drain = fuse::RequestDrain::create();
  if (!drain) return Failure::runtime(with_errno("resume=on", drain.code()));
  // A worker blocked in a read when a hand-over begins is woken by a statfs of the mount's root,
  // held as an fd (opening it asks the filesystem nothing; the daemon is confined later).
  auto top = target.place->open_top();
  if (!top) return Failure::runtime(with_errno("resume=on: the mount's root", top.code()));
  auto root = std::make_shared<Fd>(std::move(top.value()));
  drain->wake_with([root] {
    struct statfs st {};
    (void)::fstatfs(root->get(), &st);
  });
  mounted.drain.emplace(std::move(drain.value()));
  state.drain = &*mounted.drain;
  state.connection = &*mounted.connection;
  state.handles.start_at(mounted.connection->first_handle());
  return {};
}

class OwnedMount : public MountLife {
 public:
  explicit OwnedMount(const Options& opts) : opts_(opts) {}

  Phase<std::optional<Takeover>> predecessor(const MountPlace&, const struct stat&) override {
    return std::optional<Takeover>();
  }

  Phase<Mounted> mount(MountTarget& target, Identity& id, fuse::Session& session) override {
    if (target.place && target.checked_dir.valid()) {
      auto own = mount_by_itself(opts_, id, *target.place, target.checked_dir, session);
      if (!own) return own.error();
      if (own.value()) return std::move(*own.value());
    }
    return mount_by_libfuse(opts_, id, session);
  }

  Phase<> keep(MountTarget&, Mounted&, Filesystem&, fuse::MountState&) override { return {}; }

  // The helper first: whatever happens from here on, it removes the control socket with the
  // mount, and only the mount this process made (never anyone else's).
  Phase<> before_confinement(Serving& s) override {
    auto ours = s.mounted.own ? s.mounted.own->identity() : mount_identity_at(*s.place);
    auto started =
        UnmountHelper::start(*s.place, ours, control_socket_path(s.id.mountpoint), s.id.bind);
    if (!started) {
      return Failure::runtime(with_errno("cannot start the unmount helper", started.code()));
    }
    helper_ = std::move(started.value());
    return {};
  }

  Phase<> serving(Serving&) override { return {}; }

  Phase<> after_serving(Serving& s, const Result<void>& served) override {
    // This daemon no longer serves BACKING: the helper may remove a bind it made.
    s.id.backing_lock.reset();
    if (helper_) {
      if (auto ok = helper_->unmount(); ok) {
        s.session.forget_mount();
      } else {
        spdlog::warn("unmount helper: {}", std::strerror(ok.code()));
      }
    }
    helper_.reset();
    spdlog::info("unmounted {}", opts_.mountpoint);
    if (!served) {
      return Failure::runtime(with_errno("session ended with error", served.code()));
    }
    if (s.id.passthrough_refused) {
      return Failure::runtime("passthrough=require: the kernel did not take FUSE passthrough");
    }
    return {};
  }

 private:
  const Options& opts_;
  std::unique_ptr<UnmountHelper> helper_;
};

class KeptMount : public MountLife {
 public:
  explicit KeptMount(const Options& opts) : opts_(opts) {}

  Phase<std::optional<Takeover>> predecessor(const MountPlace& place,
                                             const struct stat& backing) override {
    return take_over(take_stored(), place, InodeKey{backing.st_dev, backing.st_ino});
  }

  Phase<Mounted> mount(MountTarget& target, Identity& id, fuse::Session& session) override {
    if (target.takeover) return adopt_connection(*target.takeover, session);
    if (!target.place || !target.checked_dir.valid()) {
      return Failure::runtime("internal error: resume=on without a mount point to mount on");
    }
    auto own = mount_by_itself(opts_, id, *target.place, target.checked_dir, session);
    if (!own) return own.error();
    if (!own.value()) {
      return Failure::runtime(
          "resume=on: confinefs must mount by itself (as root, without allow_root or "
          "auto_unmount, which are libfuse's and not kept)");
    }
    return std::move(*own.value());
  }

  Phase<> keep(MountTarget& target, Mounted& mounted, Filesystem& fs,
               fuse::MountState& state) override {
    return keep_state(opts_, target, mounted, fs, state);
  }

  // No unmount helper: the mount outlives this process, for the next daemon.
  Phase<> before_confinement(Serving&) override { return {}; }

  Phase<> serving(Serving& s) override {
    auto started = HandOver::start(*s.mounted.drain, s.id.line());
    if (!started) {
      return Failure::runtime(with_errno("resume=on: stop signals", started.code()));
    }
    hand_over_ = std::move(started.value());
    return {};
  }

  Phase<> after_serving(Serving& s, const Result<void>& served) override {
    auto left = leave_for_successor(s.session, *s.mounted.connection, served);
    hand_over_.reset();
    return left;
  }

 private:
  const Options& opts_;
  std::unique_ptr<HandOver> hand_over_;
};

}  // namespace

std::unique_ptr<MountLife> life_for(const Options& opts) {
  if (opts.resume) return std::make_unique<KeptMount>(opts);
  return std::make_unique<OwnedMount>(opts);
}

}  // namespace confinefs::cmd
