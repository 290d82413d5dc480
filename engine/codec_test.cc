#include "engine/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "core/frame.h"
#include "engine/chunk_coder.h"
#include "model/random_model.h"

namespace lmc {
namespace {

std::unique_ptr<IntModel> Tiny(uint64_t seed = 1) {
  return std::move(IntModel::FromBytes(MakeRandomModel(TinyConfig(), seed))).value();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

CodecOptions Opts(uint32_t chunk, int threads, int batch) {
  CodecOptions o;
  o.chunk_tokens = chunk;
  o.threads = threads;
  o.batch_chunks = batch;
  return o;
}

TEST(CodecTest, RoundTripsEdgeCases) {
  auto m = Tiny();
  struct Case {
    const char* name;
    std::string data;
  } cases[] = {
      {"empty", ""},
      {"one byte", "x"},
      {"zeros", std::string(100000, '\0')},
      {"random", RandomBytes(50000, 1)},
      {"text", std::string(2000, 'a') + "The quick brown fox jumps over the lazy dog.\n"},
      {"all byte values", [] { std::string s; for (int i = 0; i < 256 * 4; ++i) s.push_back(char(i)); return s; }()},
  };
  for (const Case& c : cases) {
    for (uint32_t chunk : {1u, 7u, 4096u, 32768u}) {
      if (chunk < 100 && c.data.size() > 5000) continue;
      auto f = Compress(*m, c.data, Opts(chunk, 2, 4));
      ASSERT_TRUE(f.ok()) << c.name << ": " << f.status();
      auto back = Decompress(*m, *f, Opts(chunk, 1, 3));
      ASSERT_TRUE(back.ok()) << c.name << " chunk " << chunk << ": " << back.status();
      EXPECT_TRUE(*back == c.data) << c.name << " chunk " << chunk;
    }
  }
}

// The payload is a function of the data and the model alone: not of threads or
// batching, on either side.
TEST(CodecTest, ArrangementDoesNotChangeBytes) {
  auto m = Tiny();
  std::string data = RandomBytes(3000, 2) + std::string(5000, 'z') + RandomBytes(4000, 3);
  auto reference = Compress(*m, data, Opts(1000, 1, 1));
  ASSERT_TRUE(reference.ok());
  for (int threads : {1, 2, 3}) {
    for (int batch : {1, 2, 5, 64}) {
      auto f = Compress(*m, data, Opts(1000, threads, batch));
      ASSERT_TRUE(f.ok());
      EXPECT_EQ(*f, *reference) << threads << " threads, batch " << batch;
      auto back = Decompress(*m, *reference, Opts(1000, 3 - threads % 3, batch + 1));
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_TRUE(*back == data);
    }
  }
}

// One chunk on several threads is evaluated in segments that join the stream
// late (model/evaluator.h); the bytes must be those of one thread.
TEST(CodecTest, SegmentsDoNotChangeBytes) {
  auto m = Tiny();
  std::string data = RandomBytes(2000, 4) + std::string(3000, 'q') + RandomBytes(7000, 5);
  CodecOptions one = Opts(1 << 20, 1, 1);
  auto reference = Compress(*m, data, one);
  ASSERT_TRUE(reference.ok());
  for (int threads : {2, 3}) {
    for (uint32_t segment : {1u, 100u, 777u, 5000u}) {
      for (int block : {1, 128}) {
        CodecOptions o = Opts(1 << 20, threads, 1);
        o.segment_tokens = segment;
        o.block_tokens = block;
        std::atomic<uint64_t> progress{0};
        o.progress = &progress;
        auto f = Compress(*m, data, o);
        ASSERT_TRUE(f.ok());
        EXPECT_EQ(*f, *reference) << threads << " threads, segments of " << segment
                                  << ", blocks of " << block;
        EXPECT_EQ(progress.load(), data.size());
      }
    }
  }
  auto back = Decompress(*m, *reference, Opts(1 << 20, 2, 1));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == data);
}

// Chunks are cut equal, so that they decode in equal parallel parts.
TEST(CodecTest, ChunksAreEqual) {
  auto m = Tiny();
  auto plan = PlanCompress(*m, RandomBytes(2500, 6), 1000);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->header.chunk_tokens, 834u);
  ASSERT_EQ(plan->chunks.size(), 3u);
  EXPECT_EQ(plan->chunks[2].size(), 832u);
  auto single = PlanCompress(*m, RandomBytes(999, 6), 1000);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->header.chunk_tokens, 1000u);
}

// Without a chunk size, bytes are cut every 2^21 tokens and a media front-end's
// token stream every 2^23, so that a photo's contexts learn from all of it.
TEST(CodecTest, DefaultChunksByFrontEnd) {
  auto m = Tiny();
  const std::string pixels = RandomBytes(1500 * 1000, 4);
  auto bytes = PlanCompress(*m, pixels + pixels, 0);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(bytes->header.front_end, FrontEnd::kBytes);
  EXPECT_EQ(bytes->chunks.size(), 2u);  // 3,000,000 bytes > 2^21
  auto image = PlanCompress(*m, "P5\n1500 1000\n255\n" + pixels, 0);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->header.front_end, FrontEnd::kImage);
  EXPECT_EQ(image->chunks.size(), 1u);
  auto large = PlanCompress(*m, "P5\n3000 3000\n255\n" + RandomBytes(9000000, 5), 0);
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->header.front_end, FrontEnd::kImage);
  EXPECT_EQ(large->chunks.size(), 2u);  // 9,000,000 8-bit samples > 2^23 tokens
  // A size given applies to every front-end.
  auto given = PlanCompress(*m, "P5\n1500 1000\n255\n" + pixels, 1 << 20);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->chunks.size(), 2u);
}

TEST(CodecTest, TwentyMegabytes) {
  auto m = std::move(IntModel::FromBytes(MakeRandomModel(MicroConfig(), 3))).value();
  std::string data;
  std::mt19937_64 rng(4);
  while (data.size() < 20u << 20) {
    data += rng() % 3 ? std::string(1 + rng() % 5000, char(rng() % 4)) : RandomBytes(rng() % 3000, rng());
  }
  auto f = Compress(*m, data, Opts(1 << 20, 0, 4));
  ASSERT_TRUE(f.ok()) << f.status();
  auto back = Decompress(*m, *f, Opts(1 << 20, 0, 3));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == data);
}

TEST(CodecTest, WrongModelIsFailedPrecondition) {
  auto a = Tiny(1), b = Tiny(2);
  auto f = Compress(*a, "hello world", {});
  ASSERT_TRUE(f.ok());
  auto r = Decompress(*b, *f, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

// A frame of BPE tokens (a converted Hugging Face model's, front-end 04) is
// another model's frame for the byte engine, even when it names this model.
TEST(CodecTest, TokenFramesAreAnotherModels) {
  auto m = Tiny(1);
  FrameHeader h;
  h.front_end = FrontEnd::kTokens;
  h.front_end_params = std::string(1, '\x03');  // varint(3 tokens)
  h.model = m->fingerprint();
  h.original_bytes = 9;
  h.chunk_tokens = 3;
  h.chunks.push_back({3, 5});
  const std::string f = WriteFrame(h, {std::string(5, '\0')});
  auto r = Decompress(*m, f, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

// Damage anywhere is an error or, where it hit slack bits of the coder's flush,
// the exact original: never different data.
TEST(CodecTest, DamageNeverYieldsWrongData) {
  auto m = Tiny();
  const std::string data = "{\"id\": 42, \"name\": \"lmc\", \"tags\": [\"a\", \"b\"]}\n" + RandomBytes(300, 9);
  auto f = Compress(*m, data, Opts(64, 1, 4));
  ASSERT_TRUE(f.ok());
  int errors = 0;
  for (size_t bit = 0; bit < f->size() * 8; ++bit) {
    std::string g = *f;
    g[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    auto r = Decompress(*m, g, Opts(64, 1, 4));
    if (r.ok()) {
      ASSERT_TRUE(*r == data) << "bit " << bit << " decoded to other data";
    } else {
      ++errors;
      ASSERT_TRUE(r.status().code() == absl::StatusCode::kDataLoss ||
                  r.status().code() == absl::StatusCode::kInvalidArgument ||
                  r.status().code() == absl::StatusCode::kUnimplemented ||
                  r.status().code() == absl::StatusCode::kFailedPrecondition)
          << "bit " << bit << ": " << r.status();
    }
  }
  EXPECT_GT(errors, static_cast<int>(f->size() * 8 * 9 / 10));
  for (size_t n = 0; n < f->size(); ++n) {
    auto r = Decompress(*m, std::string_view(*f).substr(0, n), {});
    EXPECT_FALSE(r.ok()) << "truncated at " << n;
  }
}

// Media files go through their front-end (the frame says which), in any
// chunking, and come back exact; forcing bytes or another modality is honoured.
TEST(CodecTest, MediaFrontEnds) {
  auto m = Tiny();
  std::string wav_body = "WAVEfmt " + std::string("\x10\0\0\0\x01\0\x02\0\x44\xac\0\0", 12) +
                         std::string("\x98\x09\x04\0\x06\0\x18\0", 8) + "data" +
                         std::string("\x2c\x01\0\0", 4) + RandomBytes(300, 3);
  std::string wav = "RIFF" + std::string(1, static_cast<char>(wav_body.size())) +
                    std::string(3, '\0') + wav_body;
  struct Case {
    std::string data;
    FrontEnd want;
  } cases[] = {
      {"P5\n9 7\n65535\n" + RandomBytes(9 * 7 * 2, 1), FrontEnd::kImage},
      {"P6\n# c\n5 3\n255\n" + RandomBytes(45, 2), FrontEnd::kImage},
      {wav, FrontEnd::kAudio},
      {"YUV4MPEG2 W4 H2 C420 XA=1\nFRAME\n" + RandomBytes(12, 4) + "FRAME Ixy\n" +
           RandomBytes(12, 5),
       FrontEnd::kVideo},
  };
  for (const Case& c : cases) {
    for (uint32_t chunk : {7u, 100u, 1u << 20}) {
      auto f = Compress(*m, c.data, Opts(chunk, 2, 3));
      ASSERT_TRUE(f.ok()) << f.status();
      auto p = ParseFrame(*f);
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(p->header.front_end, c.want);
      EXPECT_EQ(p->header.compact, p->header.chunks.size() == 1);
      if (chunk == 7) {
        EXPECT_GT(p->header.chunks.size(), 1u);
      }
      auto back = Decompress(*m, *f, Opts(chunk, 1, 2));
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_TRUE(*back == c.data);
    }
    CodecOptions bytes;
    bytes.modality = media::Modality::kBytes;
    auto f = Compress(*m, c.data, bytes);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(ParseFrame(*f)->header.front_end, FrontEnd::kBytes);
    EXPECT_TRUE(*Decompress(*m, *f, {}) == c.data);
  }
  // Not audio: coded as bytes even when audio is asked for.
  CodecOptions audio;
  audio.modality = media::Modality::kAudio;
  auto f = Compress(*m, cases[0].data, audio);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(ParseFrame(*f)->header.front_end, FrontEnd::kBytes);
}

TEST(CodecTest, DamagedMediaFrameNeverYieldsWrongData) {
  auto m = Tiny();
  const std::string data = "P5\n6 5\n255\n" + RandomBytes(30, 8);
  auto f = Compress(*m, data, {});
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(ParseFrame(*f)->header.front_end, FrontEnd::kImage);
  for (size_t bit = 0; bit < f->size() * 8; ++bit) {
    std::string g = *f;
    g[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    auto r = Decompress(*m, g, {});
    if (r.ok()) {
      ASSERT_TRUE(*r == data) << "bit " << bit << " decoded to other data";
    }
  }
}

TEST(CodecTest, RejectsBadOptions) {
  auto m = Tiny();
  EXPECT_EQ(Compress(*m, "x", Opts(kMaxChunkTokens + 1, 1, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Compress(*m, "x", Opts(0, 1, 1)).ok());  // 0: the default by front-end
}

// Speculative decoding: on text with long repeats (and damage that breaks
// some guesses) a chunk decodes in fewer model steps than it has tokens, and
// the bytes are right, alone and beside a second chunk in the same batch.
TEST(CodecTest, GuessedRowsDecodeTheSameBytes) {
  auto m = Tiny();
  std::mt19937_64 rng(21);
  std::string text;
  const std::string line = "2026-11-29 08:40:17 status half-configured libfoo:amd64 1.2-3\n";
  while (text.size() < 6000) {
    std::string l = line;
    if (rng() % 3 == 0) l[rng() % l.size()] = static_cast<char>('a' + rng() % 26);
    text += l;
  }
  const std::string other = RandomBytes(700, 4);
  std::vector<std::string> chunks = {text, other};
  std::vector<std::string> payloads;
  for (const std::string& c : chunks) {
    ChunkEncoder e(*m, c);
    while (!e.done()) {
      BatchEvaluator ev(*m);
      std::vector<uint16_t> freqs;
      auto in = e.NextInputs(128);
      StreamInput input{e.state(), in};
      ev.Evaluate({&input, 1}, &freqs);
      e.Code(freqs.data());
    }
    payloads.push_back(e.Finish());
  }
  for (size_t together : {1, 2}) {
    std::vector<std::unique_ptr<ChunkDecoder>> d;
    for (size_t i = 0; i < together; ++i) {
      d.push_back(std::make_unique<ChunkDecoder>(
          *m, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payloads[i].data()),
                                       payloads[i].size()),
          static_cast<uint32_t>(chunks[i].size())));
    }
    BatchEvaluator ev(*m);
    std::vector<uint16_t> freqs;
    size_t steps = 0;
    while (!d[0]->done()) {
      std::vector<StreamInput> batch;
      std::vector<ChunkDecoder*> which;
      for (auto& c : d) {
        if (c->done()) continue;
        batch.push_back({c->state(), c->NextInputs()});
        which.push_back(c.get());
      }
      ev.Evaluate(batch, &freqs);
      size_t row = 0;
      for (size_t b = 0; b < batch.size(); ++b) {
        which[b]->Code(&freqs[row * 256]);
        row += batch[b].tokens.size();
      }
      ++steps;
    }
    EXPECT_LT(steps, text.size() * 3 / 4) << together << " chunks";
    for (size_t i = 0; i < together; ++i) {
      while (!d[i]->done()) {  // the second chunk, if it is behind
        auto in = d[i]->NextInputs();
        StreamInput input{d[i]->state(), in};
        ev.Evaluate({&input, 1}, &freqs);
        d[i]->Code(freqs.data());
      }
      auto got = d[i]->Finish(i);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, chunks[i]) << "chunk " << i << " of " << together;
    }
  }
}

}  // namespace
}  // namespace lmc
