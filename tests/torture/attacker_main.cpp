// torture-attacker: runs one scenario's attack against the backing directory until the deadline
// and writes a one-line JSON report. Driven by scripts/torture; see docs/torture.md.
//   torture-attacker --scenario S --backing DIR --target FILE --secret FILE --outside-dir DIR
//                    --outside-dir-rel REL --attic DIR --manifest FILE --seconds N --report FILE
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "attack.h"

namespace torture {

ErrnoCounts g_attack_errors;

namespace {

// Several attacks taking turns, for the multi-mount scenario: one attacker process is enough to
// keep a core busy, and turns keep each race window open for roughly the same share of time.
class MultiAttack : public Attack {
 public:
  explicit MultiAttack(std::vector<std::unique_ptr<Attack>> parts) : parts_(std::move(parts)) {}
  void step() override { parts_[n_++ % parts_.size()]->step(); }
  void finish() override {
    for (auto& p : parts_) p->finish();
  }
  uint64_t attempts() const override {
    uint64_t sum = 0;
    for (const auto& p : parts_) sum += p->attempts();
    return sum;
  }
  uint64_t placed() const override {
    uint64_t sum = 0;
    for (const auto& p : parts_) sum += p->placed();
    return sum;
  }

 private:
  std::vector<std::unique_ptr<Attack>> parts_;
  uint64_t n_ = 0;
};

std::unique_ptr<Attack> make_multi(const AttackEnv& env) {
  std::vector<std::unique_ptr<Attack>> parts;
  parts.push_back(make_symlink_attack(env, "results.json"));
  parts.push_back(make_hardlink_attack(env, "hl.json"));
  parts.push_back(make_intermediate_attack(env, "d"));
  parts.push_back(make_read_flip_attack(env, "r", "ls"));
  parts.push_back(make_fifo_attack(env, "p"));
  return std::make_unique<MultiAttack>(std::move(parts));
}

// Scenario names are shared with torture-victim and scripts/torture.
std::unique_ptr<Attack> make_attack(const std::string& scenario, const AttackEnv& env) {
  static const std::map<std::string, std::function<std::unique_ptr<Attack>(const AttackEnv&)>>
      kAttacks = {
          {"symlink", [](auto& e) { return make_symlink_attack(e, "results.json"); }},
          {"hardlink", [](auto& e) { return make_hardlink_attack(e, "results.json"); }},
          {"hardlink-held", [](auto& e) { return make_hardlink_attack(e, "results.json"); }},
          {"hardlink-race", [](auto& e) { return make_hardlink_race_attack(e, "results.json"); }},
          {"hardlink-cwd", [](auto& e) { return make_hardlink_race_attack(e, "results.json"); }},
          {"hardlink-mntns", [](auto& e) { return make_hardlink_race_attack(e, "results.json"); }},
          {"intermediate", [](auto& e) { return make_intermediate_attack(e, "d"); }},
          {"replace", [](auto& e) { return make_replace_attack(e, "f"); }},
          {"exchange", [](auto& e) { return make_exchange_attack(e, "results.json", "d"); }},
          {"read-flip", [](auto& e) { return make_read_flip_attack(e, "r", "ls"); }},
          {"rename-out", [](auto& e) { return make_rename_out_attack(e, "work"); }},
          {"rename-out-peek", [](auto& e) { return make_rename_out_peek_attack(e, "peek"); }},
          {"fifo", [](auto& e) { return make_fifo_attack(e, "p"); }},
          {"device", [](auto& e) { return make_device_attack(e, "dev"); }},
          {"mount-flip", [](auto& e) { return make_mount_flip_attack(e, "mp"); }},
          {"churn", [](auto& e) { return make_churn_attack(e, "many"); }},
          {"multi-mount", [](auto& e) { return make_multi(e); }},
          {"link-climb", [](auto& e) { return make_link_climb_attack(e); }},
          {"second-mount", [](auto& e) { return make_second_mount_attack(e); }},
          {"policy-rename", [](auto& e) { return make_policy_rename_attack(e); }},
          {"second-user", [](auto& e) { return make_second_user_attack(e); }},
      };
  auto it = kAttacks.find(scenario);
  if (it == kAttacks.end()) throw SetupError("unknown scenario " + scenario);
  return it->second(env);
}

AttackEnv env_from(const Options& opt) {
  AttackEnv env;
  env.backing_path = opt.str("backing");
  long inherited = opt.num_or("backing-fd", -1);
  env.backing =
      inherited < 0 ? open_dir_or_throw(env.backing_path) : UniqueFd(static_cast<int>(inherited));
  env.target = opt.str("target");
  env.secret = opt.str("secret");
  env.outside_dir = opt.str("outside-dir");
  env.outside_dir_rel = opt.str("outside-dir-rel");
  env.attic = opt.str("attic");
  env.manifest = opt.str("manifest");
  return env;
}

void write_report(const std::string& path, const std::string& json) {
  FILE* f = fopen(path.c_str(), "we");
  if (!f) return perror(path.c_str());
  fprintf(f, "%s\n", json.c_str());
  fclose(f);
}

int run(int argc, char** argv) {
  Options opt(argc, argv);
  std::string report = opt.str("report"), scenario = opt.str("scenario");
  try {
    AttackEnv env = env_from(opt);
    std::unique_ptr<Attack> attack = make_attack(scenario, env);
    std::thread timer(run_until, static_cast<double>(opt.num_or("seconds", 5)));
    while (!stopping()) attack->step();
    timer.join();
    attack->finish();
    write_report(report, "{\"role\": \"attacker\", \"scenario\": \"" + json_escape(scenario) +
                             "\", \"attempts\": " + std::to_string(attack->attempts()) +
                             ", \"placed\": " + std::to_string(attack->placed()) +
                             ", \"errors\": " + g_attack_errors.json() + "}");
    return 0;
  } catch (const std::exception& e) {
    write_report(report, "{\"role\": \"attacker\", \"scenario\": \"" + json_escape(scenario) +
                             "\", \"setup_error\": \"" + json_escape(e.what()) + "\"}");
    fprintf(stderr, "torture-attacker: %s\n", e.what());
    return 2;
  }
}

}  // namespace
}  // namespace torture

int main(int argc, char** argv) {
  try {
    return torture::run(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "torture-attacker: %s\n", e.what());
    return 2;
  }
}
