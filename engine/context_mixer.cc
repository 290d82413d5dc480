#include "engine/context_mixer.h"

#include <algorithm>
#include <bit>

#include "engine/logistic.h"

namespace lmc {
namespace {

constexpr uint16_t kSlotInit = 2048 << 4;  // p = 1/2, count 0

// 65536 / (n + 1.5): the step of a slot seen n times.
constexpr std::array<int32_t, 16> kRates = [] {
  std::array<int32_t, 16> r{};
  for (int n = 0; n < 16; ++n) r[n] = 131072 / (2 * n + 3);
  return r;
}();

// A context of order slot `order`, hashed to 32 bits.
uint32_t Hash(uint64_t value, int order) {
  return static_cast<uint32_t>(
      (value * 0x9E3779B97F4A7C15ull + uint64_t(order + 1) * 0xD6E8FEB86659FD93ull) >> 32);
}

bool IsWordByte(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 128; }

int TableBits(uint64_t chunk_tokens, const MixerParams& params) {
  const int need = chunk_tokens < 2 ? 0 : static_cast<int>(std::bit_width(chunk_tokens - 1));
  return std::clamp(need, 6, params.max_table_bits);
}

// Bits of the order-2 hash in the refined transformer input's contexts, for a
// chunk of 2^table_bits buckets: fewer for short chunks, whose few bytes would
// touch little of a large map (and a 1 KB message would spend more time
// filling it than using it).
int ModelMapBits(int table_bits) { return std::clamp(table_bits - 10, 2, 8); }

// A mixer's stretched output: its weights (16.16) dotted with the n inputs.
int Dot(const int32_t* w, const int* x, int n) {
  int64_t sum = 0;
  for (int i = 0; i < n; ++i) sum += int64_t{w[i]} * x[i];
  return static_cast<int>(std::clamp<int64_t>(sum >> 16, -2047, 2047));
}

// Steps a mixer whose stretched output was `dot` toward `bit`: each weight
// moves by its input times the coding error, over 2^shift.
void Train(int32_t* w, const int* x, int n, int dot, int bit, int shift) {
  const int32_t err = (bit << 12) - std::clamp(Squash(dot), 1, 4095);
  for (int i = 0; i < n; ++i) w[i] += (x[i] * err) >> shift;
}

}  // namespace

uint64_t ContextMixer::MemoryFor(uint64_t chunk_tokens, const MixerParams& params,
                                 bool samples) {
  const uint64_t sample_mixing =
      samples ? (kActivities + 16) * kWeightSets * kInputs * 4 + 65536 * 33 * 2 : 0;
  const int table_bits = TableBits(chunk_tokens, params);
  return (uint64_t{32} << table_bits) + 65536 * 33 * 2 +
         (uint64_t{256} << ModelMapBits(table_bits)) * 33 * 2 +
         (kWeightSets + kStateWeightSets + kMatchWeightSets) * kByteInputs * 4 +
         256 * 4 + 65536 * 2 + sample_mixing;
}

ContextMixer::ContextMixer(uint64_t chunk_tokens, const MixerParams& params)
    : ContextMixer(params, TableBits(chunk_tokens, params)) {}

ContextMixer::ContextMixer(const MixerParams& params, int table_bits)
    : params_(params),
      table_shift_(32 - table_bits),
      slots_(size_t{16} << table_bits, kSlotInit),
      weights_(kWeightSets * kByteInputs, 0),
      state_weights_(kStateWeightSets * kByteInputs, 0),
      match_weights_(kMatchWeightSets * kByteInputs, 0),
      apm_order0_(256, params.apm_rate),
      apm_order1_(65536, params.apm_rate),
      model_map_shift_(32 - ModelMapBits(table_bits)),
      apm_model_(256 << ModelMapBits(table_bits), params.apm_rate) {
  for (size_t b = 0; b < slots_.size(); b += 16) slots_[b] = 0;
  // The byte mixers start with the transformer's input alone, at weight 1.
  for (int s = 0; s < kWeightSets; ++s) weights_[s * kByteInputs] = 1 << 16;
  for (int s = 0; s < kStateWeightSets; ++s) state_weights_[s * kByteInputs] = 1 << 16;
  for (int s = 0; s < kMatchWeightSets; ++s) match_weights_[s * kByteInputs] = 1 << 16;
  StartByte();  // the chunk's first contexts: as if preceded by zero bytes
}

uint32_t ContextMixer::FindBucket(uint32_t hash) {
  // Two candidate buckets; slot 0 of a bucket holds the low 16 bits of its
  // context's hash. A new context takes the candidate whose first node has been
  // seen less often (the first on a tie), reset.
  const uint32_t a = (hash >> table_shift_) * 16, b = a ^ 16;
  const uint16_t check = static_cast<uint16_t>(hash);
  if (slots_[a] == check) return a;
  if (slots_[b] == check) return b;
  const uint32_t victim = (slots_[b + 1] & 15) < (slots_[a + 1] & 15) ? b : a;
  std::fill(&slots_[victim + 1], &slots_[victim + 16], kSlotInit);
  slots_[victim] = check;
  return victim;
}

void ContextMixer::SetSampleContexts(const uint32_t* hashes, int activity, int shape) {
  if (!sample_) {
    const auto weight_sets = [](int n) {
      std::vector<int32_t> w(size_t(n) * kWeightSets * kInputs, 0);
      for (size_t s = 0; s < w.size(); s += kInputs) w[s] = 1 << 16;  // the table's input
      return w;
    };
    sample_ = std::make_unique<SampleMixing>(
        SampleMixing{weight_sets(kActivities), weight_sets(16), Apm(65536, params_.apm_rate)});
  }
  for (int i = 0; i < kSampleContexts; ++i) ctx_hash_[i] = hashes[i];
  contexts_ = kSampleContexts;
  sample_byte_ = true;
  sample_->activity = activity;
  sample_->shape = shape;
}

void ContextMixer::SetFrequencies(const uint16_t* freqs) {
  spike_ = -1;
  cum_[0] = 0;
  for (int s = 0; s < 256; ++s) cum_[s + 1] = cum_[s] + freqs[s];
}

void ContextMixer::SetSpikedFrequencies(int b, uint32_t f, uint32_t fb) {
  spike_ = b;
  spike_f_ = f;
  spike_fb_ = fb;
}

void ContextMixer::SetMatch(int predicted, int length) {
  match_byte_ = predicted;
  // 0 (none), then 1..6 for lengths 1, 2-3, 4-7, 8-15, 16-31, 32 and more.
  match_class_ =
      predicted < 0 ? 0 : std::bit_width(static_cast<unsigned>(std::clamp(length, 1, 63)));
}

uint32_t ContextMixer::Cum(int s) const {
  if (spike_ < 0) return cum_[s];
  const uint32_t u = static_cast<uint32_t>(s);
  return u * spike_f_ + (s > spike_ ? spike_fb_ - spike_f_ : 0);
}

int ContextMixer::P1() {
  // The transformer's probability of a 1 among the symbols still possible.
  const int mid = (lo_ + hi_) / 2;
  const uint32_t total = Cum(hi_) - Cum(lo_);
  const uint32_t ones = Cum(hi_) - Cum(mid);
  const int p_model = std::clamp<int>((uint64_t{ones} * 4096 + total / 2) / total, 1, 4095);
  x_[0] = Stretch(p_model);
  // Context statistics: a bucket per order and nibble, a slot per nibble-tree node.
  const int done = std::bit_width(static_cast<unsigned>(c0_)) - 1;  // bits of this byte
  if (done == 0 || done == 4) {
    // The buckets' cache lines are fetched together rather than one by one.
    uint32_t h[kMaxContexts];
    for (int i = 0; i < contexts_; ++i) {
      h[i] = ctx_hash_[i] + static_cast<uint32_t>(c0_) * 0x9E3779B1u;
      __builtin_prefetch(&slots_[(h[i] >> table_shift_) * 16]);
    }
    for (int i = 0; i < contexts_; ++i) bucket_[i] = FindBucket(h[i]);
  }
  const int node = done < 4 ? c0_ : (c0_ & ((1 << (done - 4)) - 1)) | (1 << (done - 4));
  for (int i = 0; i < contexts_; ++i) {
    slot_[i] = bucket_[i] + node;
    x_[1 + i] = Stretch(slots_[slot_[i]] >> 4);
  }
  if (sample_byte_) {
    x_[contexts_ + 1] = 256;  // the bias
    return SampleP1();
  }
  // The transformer's probability as an order-2 context has seen it do.
  const uint32_t order2 = static_cast<uint32_t>(history_ & 0xFFFF) * 0x9E3779B1u >> model_map_shift_;
  x_[kByteContexts + 1] = Stretch(apm_model_.Refine(p_model, c0_ | static_cast<int>(order2 << 8)));
  x_[kByteContexts + 2] = 256;  // the bias
  // Three mixers, their stretched outputs averaged (the first counted twice):
  // weights by the partial byte; by the transformer's confidence, the bit's
  // position and the word state; by the match's length class and the bit it
  // expects (none once the byte has left the predicted one).
  const int confidence = (x_[0] + 2048) >> 8;  // 0..15
  const int last = static_cast<int>(history_ & 0xFF);
  const int word_state = (word_ != 0 ? 1 : 0) | (last == ' ' || last == '\n' ? 2 : 0);
  state_set_ = (confidence * 8 + done) * 4 + word_state;
  const int expect = match_byte_ >= 0 && ((match_byte_ | 256) >> (8 - done)) == c0_
                         ? 1 + ((match_byte_ >> (7 - done)) & 1)
                         : 0;
  match_set_ = (match_class_ * 3 + expect) * 8 + done;
  dot_ = Dot(&weights_[c0_ * kByteInputs], x_.data(), kByteInputs);
  dot_state_ = Dot(&state_weights_[state_set_ * kByteInputs], x_.data(), kByteInputs);
  dot_match_ = Dot(&match_weights_[match_set_ * kByteInputs], x_.data(), kByteInputs);
  p_mix_ = std::clamp(Squash((2 * dot_ + dot_state_ + dot_match_) >> 2), 1, 4095);
  const int a0 = apm_order0_.Refine(p_mix_, c0_);
  const int a1 = apm_order1_.Refine(p_mix_, c0_ | last << 8);
  p_ = std::clamp((p_mix_ + a0 + 2 * a1 + 2) >> 2, 1, 4095);
  return p_;
}

int ContextMixer::SampleP1() {
  // Two mixers, their stretched outputs averaged; three maps.
  SampleMixing& m = *sample_;
  m.dot = Dot(m.ActivityRow(c0_), x_.data(), kInputs);
  m.dot_shape = Dot(m.ShapeRow(c0_), x_.data(), kInputs);
  p_mix_ = std::clamp(Squash((m.dot + m.dot_shape) >> 1), 1, 4095);
  const int a0 = apm_order0_.Refine(p_mix_, c0_);
  const int a1 = apm_order1_.Refine(p_mix_, c0_ | m.activity << 8);
  const int a2 = m.apm.Refine(p_mix_, c0_ | m.shape << 8);
  p_ = std::clamp((p_mix_ + a0 + a1 + a2 + 2) >> 2, 1, 4095);
  return p_;
}

void ContextMixer::UpdateSampleMixers(int bit) {
  // Each mixer steps on the coding cost of its own prediction.
  SampleMixing& m = *sample_;
  m.apm.Update(bit);
  const int shift = params_.sample_learning_shift;
  Train(m.ActivityRow(c0_), x_.data(), kInputs, m.dot, bit, shift);
  Train(m.ShapeRow(c0_), x_.data(), kInputs, m.dot_shape, bit, shift);
}

void ContextMixer::Update(int bit) {
  apm_order0_.Update(bit);
  apm_order1_.Update(bit);
  if (sample_byte_) {
    UpdateSampleMixers(bit);
  } else {
    // Each mixer steps on the coding cost of its own prediction.
    apm_model_.Update(bit);
    const int shift = params_.learning_shift;
    Train(&weights_[c0_ * kByteInputs], x_.data(), kByteInputs, dot_, bit, shift);
    Train(&state_weights_[state_set_ * kByteInputs], x_.data(), kByteInputs, dot_state_, bit, shift);
    Train(&match_weights_[match_set_ * kByteInputs], x_.data(), kByteInputs, dot_match_, bit, shift);
  }
  // Context slots: move toward the bit by 1/(n + 1.5).
  for (int i = 0; i < contexts_; ++i) {
    uint16_t& s = slots_[slot_[i]];
    const int32_t p = s >> 4, n = s & 15;
    const int32_t np = p + (((bit ? 4095 : 0) - p) * kRates[n] >> 16);
    s = static_cast<uint16_t>(np << 4 | std::min(n + 1, params_.counter_limit));
  }
  const int mid = (lo_ + hi_) / 2;
  (bit ? lo_ : hi_) = mid;
  c0_ = c0_ * 2 + bit;
  if (c0_ >= 256) EndByte(static_cast<uint8_t>(c0_ - 256));
}

void ContextMixer::PushLine(uint8_t byte) {
  if (column_ < kLineColumns) line_[column_++] = byte;
  if (byte == '\n') {
    line_.swap(prev_line_);
    prev_line_len_ = column_;
    column_ = 0;
  }
}

void ContextMixer::EndByte(uint8_t byte) {
  after1_[history_ & 0xFF] = after1_[history_ & 0xFF] << 8 | byte;
  uint16_t& after2 = after2_[history_ & 0xFFFF];
  after2 = static_cast<uint16_t>(after2 << 8 | byte);
  history_ = history_ << 8 | byte;
  if (IsWordByte(byte)) {
    const uint32_t lower = byte >= 'A' && byte <= 'Z' ? byte + 32 : byte;
    word_ = (word_ + lower + 1) * 0x3D4D51CBu;
  } else {
    if (word_ != 0) last_word_ = word_;
    word_ = 0;
  }
  PushLine(byte);
  StartByte();
}

void ContextMixer::StartByte() {
  const uint8_t above = column_ < prev_line_len_ ? prev_line_[column_] : 0;
  ctx_hash_[0] = Hash(history_ & 0xFF, 0);
  ctx_hash_[1] = Hash(history_ & 0xFFFF, 1);
  ctx_hash_[2] = Hash(history_ & 0xFFFFFF, 2);
  ctx_hash_[3] = Hash(history_ & 0xFFFFFFFF, 3);
  ctx_hash_[4] = Hash(history_ & 0xFFFFFFFFFFFF, 4);
  ctx_hash_[5] = Hash(uint64_t{word_} << 8 | (history_ & 0xFF), 5);
  ctx_hash_[6] = Hash(history_, 6);
  ctx_hash_[7] = Hash(history_ & 0xFFFFFF00, 7);
  ctx_hash_[8] = Hash(uint64_t{last_word_} << 32 | word_, 8);
  ctx_hash_[9] = Hash(uint64_t{above} << 8 | (history_ & 0xFF), 9);
  ctx_hash_[10] = Hash(uint64_t{above} << 8 | static_cast<uint64_t>(column_), 10);
  ctx_hash_[11] = Hash(uint64_t{after1_[history_ & 0xFF] & 0xFFFFFF} << 8 | (history_ & 0xFF), 11);
  ctx_hash_[12] = Hash(uint64_t{after2_[history_ & 0xFFFF]} << 8 | (history_ & 0xFF), 12);
  sample_byte_ = false;
  contexts_ = kByteContexts;
  match_byte_ = -1;
  match_class_ = 0;
  lo_ = 0;
  hi_ = 256;
  c0_ = 1;
}

}  // namespace lmc
