// Runs work over an index range on a few threads, without a pool object: the
// engine's local mode and the converted-model codec split chunks this way.
//
//   ParallelGroups(chunks.size(), 1, threads, [&](size_t b, size_t e) { ... });
#ifndef LMC_CORE_PARALLEL_H_
#define LMC_CORE_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace lmc {

// Runs fn(group_begin, group_end) over [0, n) in groups of `group`, on `threads`
// threads (the caller's among them) pulling groups from a shared counter.
template <typename Fn>
void ParallelGroups(size_t n, size_t group, int threads, Fn fn) {
  // Smaller groups when there are few items, so every thread gets some.
  group = std::max<size_t>(1, std::min(group, (n + threads - 1) / std::max(1, threads)));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t b; (b = next.fetch_add(group)) < n;) fn(b, std::min(n, b + group));
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace lmc

#endif  // LMC_CORE_PARALLEL_H_
