// The front-ends and the sample stream: every file comes back byte for byte,
// through ToTokens/FromTokens, whatever it holds; files a front-end cannot
// take fully are declined (coded as bytes) rather than mangled.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>

#include "media/front_ends.h"
#include "media/media_codec.h"
#include "media/sample_predictor.h"
#include "media/sample_stream.h"
#include "media/sign_lms.h"

namespace lmc::media {
namespace {

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A smooth-ish raster, so residuals are small but not all zero.
std::string Raster(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  int v = 128;
  for (char& c : s) {
    v = std::clamp(v + static_cast<int>(rng() % 9) - 4, 0, 255);
    c = static_cast<char>(v);
  }
  return s;
}

std::string Le(uint32_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string Wav(int channels, int bits, const std::string& data,
                const std::string& extra = "",
                uint32_t data_size = UINT32_MAX) {
  const int align = channels * bits / 8;
  std::string fmt = Le(1, 2) + Le(channels, 2) + Le(44100, 4) +
                    Le(44100 * align, 4) + Le(align, 2) + Le(bits, 2);
  std::string body = "WAVE";
  body += "fmt " + Le(16, 4) + fmt;
  body += extra;
  body +=
      "data" + Le(data_size == UINT32_MAX ? data.size() : data_size, 4) + data;
  if (data.size() % 2) body.push_back('\0');
  return "RIFF" + Le(body.size(), 4) + body;
}

// Checks the round trip and returns the modality the file was taken as.
Modality RoundTrip(const std::string& file,
                   std::optional<Modality> force = std::nullopt) {
  MediaTokens m = ToTokens(file, force);
  if (m.modality == Modality::kBytes) {
    EXPECT_TRUE(m.tokens.empty());
    return m.modality;
  }
  absl::StatusOr<TokenLayout> layout = ParamsLayout(m.modality, m.params);
  EXPECT_TRUE(layout.ok()) << layout.status();
  if (!layout.ok()) return m.modality;
  EXPECT_TRUE(*layout == m.layout);
  absl::StatusOr<std::string> back = FromTokens(*layout, m.tokens);
  EXPECT_TRUE(back.ok()) << back.status();
  if (back.ok()) {
    EXPECT_TRUE(*back == file) << "round trip differs";
  }
  return m.modality;
}

TEST(PnmTest, GreyColourAndSixteenBit) {
  EXPECT_EQ(RoundTrip("P5\n1 1\n255\n\x7f"), Modality::kImage);  // 1x1
  EXPECT_EQ(RoundTrip("P6\n7 5\n255\n" + Raster(7 * 5 * 3, 1)),
            Modality::kImage);  // odd width
  EXPECT_EQ(RoundTrip("P5\n# a comment\n13 3 # another\n65535\n" +
                      Random(13 * 3 * 2, 2)),
            Modality::kImage);  // 16-bit PGM
  EXPECT_EQ(RoundTrip("P6 3 2 1023 " + Random(3 * 2 * 3 * 2, 3)),
            Modality::kImage);
  // Trailing bytes after the raster (a second image, garbage) stay verbatim.
  EXPECT_EQ(RoundTrip("P5\n2 2\n255\n" + Raster(4, 4) + "P5\n1 1\n255\nx"),
            Modality::kImage);
  MediaTokens m = ToTokens("P6\n7 5\n255\n" + Raster(105, 5));
  EXPECT_EQ(m.geometry.width, 7u);
  EXPECT_EQ(m.geometry.channels, 3u);
  EXPECT_EQ(m.geometry.samples, 105u);
}

TEST(PnmTest, PamWithAlpha) {
  const std::string pam =
      "P7\nWIDTH 5\nHEIGHT 3\nDEPTH 4\nMAXVAL 255\n# comment\nTUPLTYPE "
      "RGB_ALPHA\nENDHDR\n";
  EXPECT_EQ(RoundTrip(pam + Raster(5 * 3 * 4, 6)), Modality::kImage);
  const std::string pam16 =
      "P7\nWIDTH 2\nHEIGHT 2\nDEPTH 2\nMAXVAL 65535\nTUPLTYPE "
      "GRAYSCALE_ALPHA\nENDHDR\n";
  EXPECT_EQ(RoundTrip(pam16 + Random(2 * 2 * 2 * 2, 7)), Modality::kImage);
  EXPECT_EQ(ToTokens(pam + Raster(5 * 3 * 4, 6)).geometry.channels, 4u);
}

TEST(PnmTest, DeclinesWhatItCannotTake) {
  EXPECT_EQ(RoundTrip("P5\n4 4\n255\n" + Raster(15, 8)),
            Modality::kBytes);                               // raster cut short
  EXPECT_EQ(RoundTrip("P5\n4 4\n"), Modality::kBytes);       // truncated header
  EXPECT_EQ(RoundTrip("P5\n0 4\n255\n"), Modality::kBytes);  // empty
  EXPECT_EQ(RoundTrip("P5\n1 1\n70000\nxx"),
            Modality::kBytes);                           // maxval too big
  EXPECT_EQ(RoundTrip("P4\n8 1\nx"), Modality::kBytes);  // bitmap
  EXPECT_EQ(RoundTrip("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nENDHDR\nx"),
            Modality::kBytes);
  EXPECT_EQ(RoundTrip("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 9\nMAXVAL 1\nENDHDR\n" +
                      Random(9, 9)),
            Modality::kBytes);
}

TEST(WavTest, FormatsAndChunks) {
  EXPECT_EQ(RoundTrip(Wav(1, 16, Random(2000, 10))), Modality::kAudio);
  EXPECT_EQ(RoundTrip(Wav(2, 24, Random(6 * 333, 11))),
            Modality::kAudio);  // stereo 24-bit
  EXPECT_EQ(RoundTrip(Wav(1, 8, Raster(1001, 12))),
            Modality::kAudio);  // odd data: pad byte
  // LIST chunk with an odd size (and its pad byte) before the data, and a
  // chunk after it.
  const std::string list = "LIST" + Le(5, 4) + "INFOx" + std::string(1, '\0');
  std::string wav =
      Wav(2, 16, Random(4 * 100, 13), list) + "id3 " + Le(3, 4) + "abc";
  EXPECT_EQ(RoundTrip(wav), Modality::kAudio);
  MediaTokens m = ToTokens(wav);
  EXPECT_EQ(m.geometry.channels, 2u);
  EXPECT_EQ(m.geometry.samples, 200u);
  EXPECT_EQ(m.geometry.sample_rate, 44100u);
  // Data not a whole number of frames, and a streaming writer's size.
  EXPECT_EQ(RoundTrip(Wav(2, 16, Random(403, 14))), Modality::kAudio);
  EXPECT_EQ(RoundTrip(Wav(1, 16, Random(100, 15), "", 0xFFFFFFFF - 1)),
            Modality::kAudio);
}

TEST(WavTest, DeclinesWhatItCannotTake) {
  std::string wav = Wav(1, 16, Random(100, 16));
  EXPECT_EQ(RoundTrip(wav.substr(0, 30)), Modality::kBytes);  // truncated fmt
  EXPECT_EQ(RoundTrip(wav.substr(0, 40)),
            Modality::kBytes);  // no data header yet
  std::string f32 = wav;
  f32[20] = 3;  // IEEE float
  EXPECT_EQ(RoundTrip(f32), Modality::kBytes);
  std::string bits12 = wav;
  bits12[34] = 12;
  EXPECT_EQ(RoundTrip(bits12), Modality::kBytes);
  EXPECT_EQ(RoundTrip("RIFF\0\0\0\0WAVEdata\4\0\0\0abcd"),
            Modality::kBytes);  // data before fmt
}

std::string Y4m(const std::string& header, int w, int h, int frames,
                int chroma_shift, const std::string& frame_params = "") {
  const int cw = (w + chroma_shift) >> chroma_shift,
            ch = (h + chroma_shift) >> chroma_shift;
  std::string s = header + "\n";
  for (int f = 0; f < frames; ++f)
    s += "FRAME" + frame_params + "\n" + Raster(w * h + 2 * cw * ch, 20 + f);
  return s;
}

TEST(Y4mTest, LayoutsCommentsAndParameters) {
  EXPECT_EQ(
      RoundTrip(Y4m("YUV4MPEG2 W7 H5 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG", 7,
                    5, 3, 1)),
      Modality::kVideo);
  EXPECT_EQ(RoundTrip(Y4m("YUV4MPEG2 W4 H4 C444 XCOMMENT=hello", 4, 4, 2, 0,
                          " Ixyz XA=1")),
            Modality::kVideo);
  EXPECT_EQ(RoundTrip(Y4m("YUV4MPEG2 W4 H2", 4, 2, 0, 1)),
            Modality::kVideo);  // 0 frames
  // A frame cut short stays verbatim.
  const std::string cut = Y4m("YUV4MPEG2 W8 H8 C420", 8, 8, 2, 1);
  EXPECT_EQ(RoundTrip(cut.substr(0, cut.size() - 7)), Modality::kVideo);
  MediaTokens m = ToTokens(Y4m("YUV4MPEG2 W7 H5 C420mpeg2", 7, 5, 3, 1));
  EXPECT_EQ(m.geometry.samples, 3u * (35 + 2 * 4 * 3));
  std::string mono = "YUV4MPEG2 W3 H3 Cmono\nFRAME\n" + Raster(9, 30);
  EXPECT_EQ(RoundTrip(mono), Modality::kVideo);
}

TEST(Y4mTest, DeclinesWhatItCannotTake) {
  EXPECT_EQ(RoundTrip("YUV4MPEG2 W4 H4 C422\nFRAME\n" + Raster(32, 31)),
            Modality::kBytes);
  EXPECT_EQ(RoundTrip("YUV4MPEG2 W4 H4 C420p10\n"), Modality::kBytes);
  EXPECT_EQ(RoundTrip("YUV4MPEG2 W4\n"), Modality::kBytes);
  EXPECT_EQ(RoundTrip("YUV4MPEG2 W4 H4"),
            Modality::kBytes);  // header never ends
}

TEST(MediaTest, ForcedModality) {
  const std::string pgm = "P5\n3 3\n255\n" + Raster(9, 40);
  EXPECT_EQ(RoundTrip(pgm, Modality::kBytes), Modality::kBytes);
  EXPECT_EQ(RoundTrip(pgm, Modality::kAudio),
            Modality::kBytes);  // not audio: bytes
  EXPECT_EQ(RoundTrip(pgm, Modality::kImage), Modality::kImage);
}

TEST(MediaTest, SmoothSamplesBecomeSmallTokens) {
  MediaTokens m = ToTokens("P5\n64 64\n255\n" + std::string(64 * 64, '\x80'));
  size_t zeros = 0;
  for (char c : m.tokens) zeros += c == 0;
  EXPECT_GT(zeros, 64u * 64 - 2);  // all but the first pixel predicted exactly
}

// Red and blue are predicted as green plus their own difference to green:
// colour that differs from green by a constant costs nothing after the first
// pixel, however rough green is.
TEST(MediaTest, RedAndBlueFollowGreen) {
  std::mt19937 rng(9);
  std::string green(32 * 16, '\0'), raster;
  for (char& g : green) {
    g = static_cast<char>(10 + rng() % 220);  // rough, and never clipped below
    raster += {static_cast<char>(g + 20), g, static_cast<char>(g - 9)};
  }
  MediaTokens m = ToTokens("P6\n32 16\n255\n" + raster);
  ASSERT_EQ(m.modality, Modality::kImage);
  const std::string_view tokens = std::string_view(m.tokens).substr(m.layout.container);
  const std::string_view green_tokens = tokens.substr(0, 32 * 16);
  const std::string_view red = tokens.substr(32 * 16, 32 * 16), blue = tokens.substr(64 * 16);
  EXPECT_GT(std::count(green_tokens.begin(), green_tokens.end(), '\0'), 0);
  EXPECT_LT(std::count(green_tokens.begin(), green_tokens.end(), '\0'), 32 * 16 / 4);
  // The first pixel of each is predicted as green's value: +20 and -9.
  EXPECT_EQ(static_cast<uint8_t>(red[0]), 40);
  EXPECT_EQ(static_cast<uint8_t>(blue[0]), 17);
  EXPECT_EQ(std::count(red.begin() + 1, red.end(), '\0'), static_cast<long>(red.size() - 1));
  EXPECT_EQ(std::count(blue.begin() + 1, blue.end(), '\0'), static_cast<long>(blue.size() - 1));
  EXPECT_EQ(RoundTrip("P6\n32 16\n255\n" + raster), Modality::kImage);
}

// The second channel of a stereo file is predicted with the first one's
// change at the same instant: a channel that repeats the other, however
// rough, soon costs nothing.
TEST(MediaTest, SecondChannelFollowsTheFirst) {
  std::mt19937 rng(11);
  constexpr int kSamples = 4000;
  std::string data;
  int v = 0;
  for (int t = 0; t < kSamples; ++t) {
    v = std::clamp(v + static_cast<int>(rng() % 2001) - 1000, -30000, 30000);
    data += Le(static_cast<uint16_t>(v), 2) + Le(static_cast<uint16_t>(v), 2);  // left = right
  }
  MediaTokens m = ToTokens(Wav(2, 16, data));
  ASSERT_EQ(m.modality, Modality::kAudio);
  const std::string_view tokens = std::string_view(m.tokens).substr(m.layout.container);
  ASSERT_EQ(tokens.size(), 2u * 2 * kSamples);
  // Each channel's last half: the sum of its residual tokens.
  const auto cost = [&](int channel) {
    uint64_t sum = 0;
    for (char c : tokens.substr((channel * kSamples + kSamples / 2) * 2, kSamples)) sum += static_cast<uint8_t>(c);
    return sum;
  };
  EXPECT_GT(cost(0), 0u);
  EXPECT_EQ(cost(1), 0u);  // the link's weight has settled on exactly 1
  EXPECT_EQ(RoundTrip(Wav(2, 16, data)), Modality::kAudio);
}

// A predictor started at walk position `first` (a chunk's first sample)
// predicts exactly as one that ran from the start over zeros up to `first`:
// what a chunk's contexts see does not depend on how it was reached.
TEST(MediaTest, PredictorStartsAnywhereAsAfterZeros) {
  const std::string wav = Wav(2, 16, Random(600, 21));
  for (const std::string& file :
       {std::string("P6\n7 5\n255\n") + Raster(105, 3), "P5\n9 4\n65535\n" + Raster(72, 4),
        wav, "YUV4MPEG2 W4 H4 C420\nFRAME\n" + Raster(24, 5) + "FRAME\n" + Raster(24, 6)}) {
    MediaTokens m = ToTokens(file);
    ASSERT_NE(m.modality, Modality::kBytes);
    const Geometry& g = m.geometry;
    std::mt19937 rng(1);
    std::vector<uint32_t> v(g.samples);
    for (uint32_t& x : v) x = rng() & ((1u << (SampleBytes(g.format) * 8)) - 1);
    for (uint64_t first : {uint64_t{0}, uint64_t{1}, g.samples / 3, g.samples - 1}) {
      SamplePredictor from_zero(g), started(g, first);
      for (uint64_t s = 0; s < g.samples; ++s) {
        const uint32_t x = s < first ? 0 : v[s];
        if (s >= first) {
          ASSERT_EQ(started.position(), s);
          ASSERT_EQ(started.prediction(), from_zero.prediction()) << "sample " << s;
          ASSERT_EQ(started.PlaneTermsPrediction(), from_zero.PlaneTermsPrediction());
          started.Push(x);
        }
        from_zero.Push(x);
      }
      EXPECT_TRUE(started.done());
    }
  }
}

// The sliding window gives what docs/format.md's plain definition gives (a
// line of the last N values, shifted every value), across many slides.
TEST(SignLmsTest, EqualsThePlainDefinition) {
  constexpr int kN = 4, kShift = 6, kStep = 3;
  SignLms<kN, kShift, kStep> lms;
  std::array<int64_t, kN> w{}, r{}, a{};  // r[j]: the value j + 1 back; a[j]: its adaptation
  int64_t m = 0;                          // the running magnitude
  const auto sign = [](int64_t v) -> int64_t { return (v > 0) - (v < 0); };
  std::mt19937 rng(7);
  int64_t x = 0;
  for (int t = 0; t < 1000; ++t) {
    if (t == 500) {
      lms.Reset();
      w.fill(0);
      r.fill(0);
      a.fill(0);
      m = 0;
    }
    int64_t acc = 0;
    for (int j = 0; j < kN; ++j) acc += w[j] * r[j];
    const int64_t p = (acc + (1 << (kShift - 1))) >> kShift;
    ASSERT_EQ(lms.Predict(), p) << "value " << t;
    // A random walk with bursts, so that every adaptation class occurs.
    const int64_t jump = t % 97 == 0 ? 250 : 20;
    x = std::clamp<int64_t>(x + static_cast<int64_t>(rng() % (2 * jump + 1)) - jump, -300, 300);
    for (int j = 0; j < kN; ++j) w[j] = std::clamp<int64_t>(w[j] + sign(x - p) * a[j] * kStep, -(1 << 24), 1 << 24);
    for (int j = kN - 1; j > 0; --j) r[j] = r[j - 1], a[j] = a[j - 1];
    const int64_t size = std::abs(x);
    r[0] = x;
    a[0] = sign(x) * (size == 0 ? 0 : size > 3 * m ? 4 : 3 * size > 4 * m ? 2 : 1);
    m += (size - m) / 16;
    lms.Update(x, x - p);
  }
}

// Contrived input cannot push it out of 64 bits: weights and values are
// clamped (docs/format.md), so every prediction stays within order * 2^24 *
// 2^28 / 2^shift however long the errors keep one sign.
TEST(SignLmsTest, StaysBoundedOnContrivedInput) {
  SignLms<16, 14, 32> lms;
  const int64_t bound = (int64_t{16} << 52) >> 14;
  for (int t = 0; t < 200000; ++t) {
    const int64_t x = (t % 3 == 0 ? -1 : 1) * (int64_t{1} << 40);
    const int64_t p = lms.Predict();
    ASSERT_LE(std::abs(p), bound) << "value " << t;
    lms.Update(x, 1);  // always "too low": the weights only grow
  }
}

// It learns a tone: after a while its prediction misses by a small part of
// the signal's size (measured: about 2%; a filter that predicted 0 would
// miss by all of it).
TEST(SignLmsTest, LearnsATone) {
  SignLms<32, 14, 16> lms;
  int64_t miss = 0, size = 0;
  for (int t = 0; t < 40000; ++t) {
    const int64_t x = std::lround(3000 * std::sin(t * 0.07) + 1000 * std::sin(t * 0.31));
    const int64_t e = x - lms.Predict();
    if (t >= 39000) miss += std::abs(e), size += std::abs(x);
    lms.Update(x, e);
  }
  EXPECT_LT(miss * 10, size);
}

// What the decoder does with a frame's parameters and tokens.
absl::StatusOr<std::string> Decode(Modality modality, std::string_view params,
                                   std::string_view tokens) {
  absl::StatusOr<TokenLayout> layout = ParamsLayout(modality, params);
  if (!layout.ok()) return layout.status();
  return FromTokens(*layout, tokens);
}

// Whatever a corrupt frame hands the inverse, it returns an error or some
// bytes, never crashes.
TEST(MediaTest, CorruptTokensAndParameters) {
  MediaTokens m = ToTokens(Wav(2, 16, Random(400, 50)));
  ASSERT_EQ(m.modality, Modality::kAudio);
  EXPECT_FALSE(Decode(m.modality, m.params, m.tokens.substr(1)).ok());
  EXPECT_FALSE(Decode(Modality::kVideo, m.params, m.tokens).ok());
  std::mt19937 rng(51);
  for (int i = 0; i < 2000; ++i) {
    std::string p = m.params, t = m.tokens;
    if (i % 2) {
      p[rng() % p.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      t[rng() % t.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    (void)Decode(static_cast<Modality>(1 + rng() % 3), p, t);
  }
}

// Mutated and cut media files: whatever the front-ends make of them, the
// round trip is exact.
TEST(MediaTest, MutatedFilesRoundTrip) {
  const std::string files[] = {
      "P6\n5 4\n255\n" + Raster(60, 60),
      "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 2\nMAXVAL 65535\nENDHDR\n" + Random(24, 61),
      Wav(2, 24, Random(60, 62),
          "LIST" + Le(3, 4) + "abc" + std::string(1, '\0')),
      Y4m("YUV4MPEG2 W4 H3 C420", 4, 3, 2, 1)};
  std::mt19937 rng(63);
  for (const std::string& f : files) {
    for (int i = 0; i < 500; ++i) {
      std::string g = f;
      if (i % 3 == 0) g.resize(rng() % g.size());
      if (i % 3 != 0 && !g.empty())
        g[rng() % g.size()] = static_cast<char>(rng());
      if (i % 5 == 0 && !g.empty())
        g[rng() % std::min<size_t>(g.size(), 60)] = static_cast<char>(rng());
      RoundTrip(g);
    }
  }
  for (int i = 0; i < 200; ++i) RoundTrip(Random(rng() % 300, 100 + i));
}

// The signature sniff a streaming caller uses to gather a media file whole.
TEST(MediaTest, MayBeMediaSniffsSignatures) {
  EXPECT_TRUE(MayBeMedia("P5\n3 2\n255\n"));
  EXPECT_TRUE(MayBeMedia("P6 "));
  EXPECT_TRUE(MayBeMedia("P7\nWIDTH 1"));
  EXPECT_TRUE(MayBeMedia(std::string("RIFF\x10\0\0\0WAVEfmt ", 16)));
  EXPECT_TRUE(MayBeMedia("YUV4MPEG2 W2 H2"));
  EXPECT_FALSE(MayBeMedia("P3\n1 1\n"));   // ASCII PPM: coded as bytes
  EXPECT_FALSE(MayBeMedia("P5"));            // too short to tell
  EXPECT_FALSE(MayBeMedia(std::string("RIFF\x10\0\0\0AVI LIST", 16)));
  EXPECT_FALSE(MayBeMedia("YUV4MPEG2"));
  EXPECT_FALSE(MayBeMedia("hello world, not media"));
  EXPECT_FALSE(MayBeMedia("P5\n3 2\n255\n", Modality::kBytes));
  EXPECT_FALSE(MayBeMedia("P5\n3 2\n255\n", Modality::kAudio));
  EXPECT_TRUE(MayBeMedia("P5\n3 2\n255\n", Modality::kImage));
}

}  // namespace
}  // namespace lmc::media
