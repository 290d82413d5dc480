#include "tokenizer/bpe.h"

#include <queue>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace lmc::tokenizer {

absl::StatusOr<Bpe> Bpe::Create(const std::vector<std::string>& vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges,
                                bool ignore_merges) {
  Bpe b;
  b.ignore_merges_ = ignore_merges;
  if (vocab.size() >= (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError("tokenizer: vocabulary too large");
  }
  b.ids_.reserve(vocab.size());
  for (uint32_t id = 0; id < vocab.size(); ++id) {
    if (!vocab[id].empty()) b.ids_.emplace(vocab[id], id);
  }
  for (int v = 0; v < 256; ++v) {
    auto it = b.ids_.find(std::string(1, static_cast<char>(v)));
    if (it == b.ids_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: the vocabulary has no token for byte 0x", absl::Hex(v, absl::kZeroPad2),
          ", so it cannot spell every input (a byte-level BPE vocabulary has all 256)"));
    }
    b.byte_id_[v] = it->second;
  }
  b.merge_.reserve(merges.size());
  for (uint32_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [l, r] = merges[rank];
    auto a = b.ids_.find(l), c = b.ids_.find(r), m = b.ids_.find(l + r);
    if (a == b.ids_.end() || c == b.ids_.end() || m == b.ids_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: merge ", rank, " (\"", absl::CHexEscape(l), "\" + \"", absl::CHexEscape(r),
          "\") names a token the vocabulary lacks"));
    }
    b.merge_.try_emplace(Key(a->second, c->second), Merge{rank, m->second});
  }
  return b;
}

void Bpe::Encode(std::string_view piece, std::vector<uint32_t>* out) const {
  if (piece.empty()) return;
  if (ignore_merges_ || piece.size() == 1) {
    auto it = ids_.find(std::string(piece));
    if (it != ids_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  // Symbols in a doubly linked list over the piece's bytes; a merged-away
  // symbol has len 0.
  struct Symbol {
    uint32_t id;
    int32_t prev, next;
    uint32_t len;
  };
  const int32_t n = static_cast<int32_t>(piece.size());
  std::vector<Symbol> s(n);
  for (int32_t i = 0; i < n; ++i) {
    s[i] = {byte_id_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1, 1};
  }
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    uint32_t id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto consider = [&](int32_t left) {
    if (left < 0 || s[left].next < 0) return;
    auto it = merge_.find(Key(s[left].id, s[s[left].next].id));
    if (it != merge_.end()) queue.push({it->second.rank, left, it->second.id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = s[c.pos];
    if (left.len == 0 || left.next < 0) continue;
    // Stale if either side has changed since the candidate was queued.
    auto it = merge_.find(Key(left.id, s[left.next].id));
    if (it == merge_.end() || it->second.id != c.id) continue;
    Symbol& right = s[left.next];
    left.id = c.id;
    left.len += right.len;
    left.next = right.next;
    right.len = 0;
    if (left.next >= 0) s[left.next].prev = c.pos;
    consider(left.prev);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = s[i].next) out->push_back(s[i].id);
}

}  // namespace lmc::tokenizer
