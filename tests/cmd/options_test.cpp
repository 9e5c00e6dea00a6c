// The command line: what each accepted form sets, and that everything else is a usage error
// (nothing unknown is ignored: a mistyped security option must not run the daemon without it).
#include "cmd/options.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace confinefs::cmd {
namespace {

struct Parsed {
  Options options;
  std::string error;
};

Parsed parse_args(std::initializer_list<const char*> args) {
  std::vector<std::string> words = {"confinefs"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  auto parsed = parse(static_cast<int>(argv.size()), argv.data());
  if (!parsed) return {Options{}, parsed.error().message};
  return {std::move(parsed.value()), ""};
}

TEST(Options, BackingAndMountpointWithDefaults) {
  auto p = parse_args({"/srv/b", "/srv/m"});
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.backing, "/srv/b");
  EXPECT_EQ(p.options.mountpoint, "/srv/m");
  EXPECT_EQ(p.options.cache, CacheMode::kAuto);
  EXPECT_EQ(p.options.landlock, LandlockMode::kAuto);
  EXPECT_EQ(p.options.backing_mount, BackingMountMode::kAuto);
  EXPECT_FALSE(p.options.seccomp);
  EXPECT_FALSE(p.options.foreground);
}

TEST(Options, ConfinefsOptionsInOneOrSeveralLists) {
  auto p = parse_args({"-f", "-o", "cache=full,landlock=require", "-obacking_mount=off", "-o",
                       "seccomp=on,user=agent,group=agents,policy=/etc/t.yaml", "b", "m"});
  ASSERT_EQ(p.error, "");
  EXPECT_TRUE(p.options.foreground);
  EXPECT_EQ(p.options.cache, CacheMode::kFull);
  EXPECT_EQ(p.options.landlock, LandlockMode::kRequire);
  EXPECT_EQ(p.options.backing_mount, BackingMountMode::kOff);
  EXPECT_TRUE(p.options.seccomp);
  EXPECT_EQ(p.options.user, "agent");
  EXPECT_EQ(p.options.group, "agents");
  EXPECT_EQ(p.options.policy_file, "/etc/t.yaml");
}

TEST(Options, KernelMountOptionsPassAndSuidDevAreOverridden) {
  auto p = parse_args({"-o", "ro,allow_other,fsname=data,suid,dev,noatime", "b", "m"});
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.mount_options,
            (std::vector<std::string>{"ro", "allow_other", "fsname=data", "noatime"}));
  EXPECT_EQ(p.options.overridden, (std::vector<std::string>{"suid", "dev"}));
}

TEST(Options, WhatMountPassesAndMeansNothingHereIsAccepted) {
  auto p = parse_args({"-o", "defaults,noauto,_netdev,x-systemd.automount,nofail", "b", "m"});
  EXPECT_EQ(p.error, "");
  EXPECT_TRUE(p.options.mount_options.empty());
}

TEST(Options, EveryUnknownOrMalformedFormIsAnError) {
  for (auto args : std::vector<std::vector<const char*>>{
           {"-o", "landlok=require", "b", "m"},  // a typo of a security option
           {"-o", "landlock=maybe", "b", "m"},
           {"-o", "cache=sometimes", "b", "m"},
           {"-o", "seccomp=yes", "b", "m"},
           {"-o", "max_nodes=0", "b", "m"},
           {"-o", "max_nodes=12x", "b", "m"},
           {"-o", "subtype=other", "b", "m"},
           {"-o", "policy=", "b", "m"},
           {"--frobnicate", "b", "m"},
           {"-o"},
           {"b"},
           {"b", "m", "extra"},
       }) {
    std::vector<std::string> words = {"confinefs"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    auto parsed = parse(static_cast<int>(argv.size()), argv.data());
    std::string shown;
    for (const char* a : args) shown += std::string(a) + " ";
    ASSERT_FALSE(parsed.ok()) << "accepted: " << shown;
    EXPECT_EQ(parsed.error().exit, Exit::kUsage);
    EXPECT_NE(parsed.error().message, "") << shown;
  }
}

TEST(Options, HelpVersionAndPolicyCheckNeedNoPaths) {
  EXPECT_TRUE(parse_args({"--help"}).options.show_help);
  EXPECT_TRUE(parse_args({"-V"}).options.show_version);
  auto p = parse_args({"--check-policy", "t.yaml"});
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.options.check_policy_file, "t.yaml");
}

}  // namespace
}  // namespace confinefs::cmd
