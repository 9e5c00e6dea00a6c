// Sizes and counts: the exact grammar of limits.
#include "policy/size.h"

#include <gtest/gtest.h>

namespace confinefs::policy {
namespace {

uint64_t size(std::string_view text) {
  std::string error;
  std::optional<uint64_t> v = parse_size(text, &error);
  EXPECT_TRUE(v) << text << ": " << error;
  return v.value_or(0);
}

TEST(Size, UnitsArePowersOf1024UnlessSpelledWithB) {
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("123"), 123u);
  EXPECT_EQ(size("123B"), 123u);
  EXPECT_EQ(size("10K"), 10240u);
  EXPECT_EQ(size("10KiB"), 10240u);
  EXPECT_EQ(size("10KB"), 10000u);
  EXPECT_EQ(size("10M"), 10485760u);
  EXPECT_EQ(size("1GiB"), 1073741824u);
  EXPECT_EQ(size("1GB"), 1000000000u);
  EXPECT_EQ(size("2T"), 2ull << 40);
  EXPECT_EQ(size("3TB"), 3000000000000ull);
  EXPECT_EQ(size("1P"), 1ull << 50);
  EXPECT_EQ(size("18446744073709551615"), UINT64_MAX);
}

TEST(Size, RejectsEverythingElse) {
  for (const char* bad : {"", "M", "10m", "10k", "1.5G", "-1", "+1", "10 M", " 10", "0x10",
                          "18446744073709551616", "16384P", "10MiBs"}) {
    std::string error;
    EXPECT_FALSE(parse_size(bad, &error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Count, DigitsOnly) {
  std::string error;
  EXPECT_EQ(parse_count("500000", &error), 500000u);
  EXPECT_FALSE(parse_count("5K", &error));
  EXPECT_FALSE(parse_count("", &error));
  EXPECT_FALSE(parse_count("-3", &error));
}

TEST(Size, Describe) {
  EXPECT_EQ(describe_size(100), "100 bytes");
  EXPECT_EQ(describe_size(1536), "1536 bytes");
  EXPECT_EQ(describe_size(10 << 20), "10 MiB");
  EXPECT_EQ(describe_size(3ull << 40), "3 TiB");
  EXPECT_EQ(describe_size(1025ull << 10), "1025 KiB");
}

}  // namespace
}  // namespace confinefs::policy
