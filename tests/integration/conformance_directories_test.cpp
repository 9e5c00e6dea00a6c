// Conformance tables (tests/support/conformance.h): Directories, listings and long names.
#include "tests/support/conformance.h"

namespace confinefs::testing::conformance {
namespace {

TEST_F(Conformance, Directories) {
  std::vector<Step> steps = {
      mkdir_("d"),
      mkdir_("d", EEXIST),
      mkdir_("d/sub"),
      mkdir_("d/sub2"),
      mkdir_("missing/x", ENOENT),
      stat_("d"),
      put_("d/f", "data"),
      mkdir_("d/f/x", ENOTDIR),
      mkdir_("d/f", EEXIST),
      stat_("d/f/", ENOTDIR),
      rmdir_("d", ENOTEMPTY),
      unlink_("d", EISDIR),
      rmdir_("d/f", ENOTDIR),
      unlink_("d/missing", ENOENT),
      rmdir_("d/missing", ENOENT),
      rmdir_("d/sub/.", EINVAL),
      rmdir_("d/sub/..", ENOTEMPTY),
      readdir_("d"),
      readdir_("d/sub"),
      readdir_("d/f", ENOTDIR),
      readdir_("missing", ENOENT),
      rmdir_("d/sub"),
      stat_("d"),
      rmdir_("d/sub2"),
      stat_("d"),
      unlink_("d/f"),
      readdir_("d"),
      rmdir_("d"),
      stat_("d", ENOENT),
      readdir_(""),
      // Unlinking an open file: the fd keeps working.
      put_("u", "still here"),
      open_("u", "u", O_RDWR),
      unlink_("u"),
      stat_("u", ENOENT),
      fstat_("u"),
      read_("u", 100),
      pwrite_("u", "STILL", 0),
      pread_("u", 100, 0),
      call(
          "ftruncate(unlinked, 4)", [](Ctx& c) { return ::ftruncate(c.fd("u"), 4); }, 0),
      fstat_("u"),
      close_("u"),
      // A big directory: every name (of varied lengths) comes back exactly once.
      mkdir_("big"),
  };
  for (int i = 0; i < 400; ++i) {
    std::string name = "big/e" + std::to_string(i) + std::string(i % 60, 'x');
    if (i % 7 == 0) {
      steps.push_back(mkdir_(name));
    } else {
      steps.push_back(put_(name, std::to_string(i)));
    }
  }
  steps.push_back(readdir_("big"));
  steps.push_back(stat_("big"));
  for (int i = 0; i < 400; i += 3) {
    std::string name = "big/e" + std::to_string(i) + std::string(i % 60, 'x');
    steps.push_back(i % 7 == 0 ? rmdir_(name) : unlink_(name));
  }
  steps.push_back(readdir_("big"));
  steps.push_back(stat_("big"));
  check(steps);
}

TEST_F(Conformance, LongNames) {
  const std::string n255(255, 'a');
  const std::string n256(256, 'b');
  const std::string d255(255, 'd');
  check({
      open_("f", n255, O_CREAT | O_EXCL | O_WRONLY),
      write_("f", "max length name"),
      close_("f"),
      stat_(n255),
      contents_(n255),
      open_("f", n256, O_CREAT | O_WRONLY, ENAMETOOLONG),
      open_("f", n256, O_RDONLY, ENAMETOOLONG),
      stat_(n256, ENAMETOOLONG),
      mkdir_(n256, ENAMETOOLONG),
      unlink_(n256, ENAMETOOLONG),
      rmdir_(n256, ENAMETOOLONG),
      rename_(n255, n256, 0, ENAMETOOLONG),
      rename_(n256, "x", 0, ENAMETOOLONG),
      mkdir_(d255),
      rename_(n255, d255 + "/" + n255, 0, 0),
      contents_(d255 + "/" + n255),
      stat_(d255 + "/" + n256, ENAMETOOLONG),
      readdir_(""),
      readdir_(d255),
      setx_(d255, "user.x", "v", 0),
      unlink_(d255 + "/" + n255),
      rmdir_(d255),
      readdir_(""),
  });
}

}  // namespace
}  // namespace confinefs::testing::conformance
