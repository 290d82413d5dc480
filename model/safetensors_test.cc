#include "model/safetensors.h"

#include <gtest/gtest.h>

#include "model/int_model.h"
#include "model/random_model.h"

namespace lmc {
namespace {

TEST(SafetensorsTest, RoundTrip) {
  std::string bytes = SerializeSafetensors(
      {{"b", "I32", {2}, std::string("\x01\0\0\0\x02\0\0\0", 8)}, {"a", "I8", {3}, "xyz"}},
      {{"k", "v"}});
  auto st = Safetensors::Parse(bytes);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->metadata().at("k"), "v");
  auto a = st->Get("a", "I8", {3});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::string(a->bytes.begin(), a->bytes.end()), "xyz");
  EXPECT_FALSE(st->Get("a", "I8", {4}).ok());
  EXPECT_FALSE(st->Get("a", "I32", {3}).ok());
  EXPECT_FALSE(st->Get("missing", "I8", {3}).ok());
}

TEST(SafetensorsTest, DamagedFilesAreErrors) {
  std::string bytes = SerializeSafetensors({{"a", "I8", {3}, "xyz"}}, {});
  for (size_t n = 0; n + 1 < bytes.size(); ++n) {
    EXPECT_FALSE(Safetensors::Parse(bytes.substr(0, n)).ok()) << n;
  }
  std::string huge = bytes;
  huge[7] = 0x7f;  // header length beyond the file
  EXPECT_FALSE(Safetensors::Parse(huge).ok());
}

TEST(IntModelTest, LoadsRandomModelAndRejectsBrokenOnes) {
  const std::string good = MakeRandomModel(TinyConfig(), 1);
  auto m = IntModel::FromBytes(good);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->get()->fingerprint(), Sha256(good));
  // A config.json that disagrees with the embedded config.
  ModelConfig other = TinyConfig();
  other.window += 1;
  EXPECT_FALSE(IntModel::FromBytes(good, other.ToJson()).ok());
  // No lmc metadata: not an lmc model.
  EXPECT_FALSE(IntModel::FromBytes(SerializeSafetensors({{"a", "I8", {1}, "x"}}, {})).ok());
  // Truncated at several places.
  for (size_t n : {size_t{0}, size_t{9}, good.size() / 2, good.size() - 1}) {
    EXPECT_FALSE(IntModel::FromBytes(good.substr(0, n)).ok()) << n;
  }
}

}  // namespace
}  // namespace lmc
