// Optional seccomp allow-list (-o seccomp=on), installed after the mount, Landlock and the
// privilege drop, on every thread at once (TSYNC).
//
// Threat (threat 20): a bug in the daemon used to reach kernel surface it never needs
// (ptrace, bpf, kexec, mount, keyrings, user namespaces, module loading...).
// Invariant: only the syscalls listed in seccomp_filter.cpp succeed; any other fails with ENOSYS,
// never kills, so glibc's fallbacks (clone3 -> clone, openat2 -> openat in the resolver) still
// work. Off by default until measured against every workload (docs/deployment.md).
#pragma once

#include "fusefs/result.h"

namespace confinefs::cmd {

Result<void> install_seccomp_allow_list();

}  // namespace confinefs::cmd
