// Conformance tables (tests/support/conformance.h): Renames, with and without flags.
#include "tests/support/conformance.h"

namespace confinefs::testing::conformance {
namespace {

TEST_F(Conformance, Rename) {
  check({
      put_("a", "A"),
      put_("b", "B"),
      mkdir_("D1"),
      put_("D1/in", "in D1"),
      mkdir_("D2"),
      mkdir_("D3"),
      put_("D3/x", "x"),
      rename_("a", "D2", 0, EISDIR),
      rename_("D2", "a", 0, ENOTDIR),
      rename_("D2", "D3", 0, ENOTEMPTY),
      rename_("D1", "D1/sub", 0, EINVAL),
      rename_("D1", "D1/in/sub", 0, ENOTDIR),
      rename_("missing", "z", 0, ENOENT),
      rename_("a", "missing/a", 0, ENOENT),
      rename_("a", "b", RENAME_NOREPLACE, EEXIST),
      rename_("a", "D2", RENAME_NOREPLACE, EEXIST),
      rename_("a", "c", RENAME_NOREPLACE | RENAME_EXCHANGE, EINVAL),
      rename_("a", "c", RENAME_NOREPLACE, 0),
      stat_("a", ENOENT),
      contents_("c"),
      rename_("c", "b", RENAME_EXCHANGE, 0),
      contents_("b"),
      contents_("c"),
      rename_("c", "nothere", RENAME_EXCHANGE, ENOENT),
      rename_("b", "D2", RENAME_EXCHANGE, 0),
      stat_("b"),
      stat_("D2"),
      contents_("D2"),
      rename_("D2", "b", RENAME_EXCHANGE, 0),
      // Plain rename over an existing file replaces it; an open fd follows the file.
      open_("fc", "c", O_RDWR),
      rename_("c", "b", 0, 0),
      stat_("c", ENOENT),
      contents_("b"),
      write_("fc", "written after rename"),
      close_("fc"),
      contents_("b"),
      rename_("b", "b", 0, 0),
      contents_("b"),
      // Directory over an empty directory; nlink of both parents follows the move.
      mkdir_("P"),
      mkdir_("Q"),
      mkdir_("P/child"),
      put_("P/child/file", "deep"),
      stat_("P"),
      stat_("Q"),
      rename_("P/child", "Q/child", 0, 0),
      stat_("P"),
      stat_("Q"),
      contents_("Q/child/file"),
      mkdir_("P/empty"),
      rename_("Q/child", "P/empty", 0, 0),
      readdir_("P"),
      readdir_("Q"),
      contents_("P/empty/file"),
      rename_("P", "P/empty/inside", 0, EINVAL),
      // Exchange of two directories in different parents.
      rename_("P/empty", "D1", RENAME_EXCHANGE, 0),
      readdir_("D1"),
      readdir_("P/empty"),
      stat_("D1"),
      stat_("P"),
      readdir_(""),
  });
}

}  // namespace
}  // namespace confinefs::testing::conformance
