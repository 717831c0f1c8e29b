// Float storage recycled across a Session's runs (runtime/buffer_pool.h).
#include "runtime/buffer_pool.h"

#include <algorithm>

namespace deepcomp::runtime {

namespace {
thread_local FloatBufferPool* current = nullptr;
}  // namespace

std::vector<float> FloatBufferPool::take(int64_t n) {
  std::vector<float> v = pick(n);
  v.clear();
  return v;
}

std::vector<float> FloatBufferPool::take_for_overwrite(int64_t n) {
  std::vector<float> v = pick(n, true);
  // Shrinking keeps the old values; growing (within the capacity) zeroes the rest.
  if (v.capacity() > 0) v.resize(static_cast<size_t>(n < 0 ? 0 : n));
  return v;
}

std::vector<float> FloatBufferPool::pick(int64_t n, bool sized) {
  const size_t want = static_cast<size_t>(n < 0 ? 0 : n);
  const size_t limit = 2 * want + 1024;  // a tiny tensor must not pin a large buffer
  // The smallest capacity that fits; for take_for_overwrite (`sized`), first among the buffers
  // that already hold n elements, which come back without zero-filling what the caller is about
  // to overwrite.
  auto better = [&](const std::vector<float>& a, const std::vector<float>& b) {
    if (sized && (a.size() >= want) != (b.size() >= want)) return a.size() >= want;
    return a.capacity() < b.capacity();
  };
  size_t best = free_.size();
  for (size_t k = 0; k < free_.size(); ++k) {
    const size_t cap = free_[k].v.capacity();
    if (cap >= want && cap <= limit &&
        (best == free_.size() || better(free_[k].v, free_[best].v))) {
      best = k;
    }
  }
  if (best == free_.size()) return {};
  std::vector<float> v = std::move(free_[best].v);
  free_[best] = std::move(free_.back());
  free_.pop_back();
  return v;
}

void FloatBufferPool::give(std::vector<float>&& v) {
  if (v.capacity() == 0) return;
  free_.push_back({std::move(v), run_});
}

void FloatBufferPool::end_run() {
  free_.erase(
      std::remove_if(free_.begin(), free_.end(), [this](const Held& h) { return h.run < run_; }),
      free_.end());
  ++run_;
}

std::vector<float> FloatBufferPool::seed(const void* step, size_t k) {
  const auto it = habits_.find(step);
  if (it == habits_.end() || k >= it->second.size()) return {};
  const Habit& h = it->second[k];
  if (!h.keeps || h.size <= 0) return {};
  return take(h.size);
}

void FloatBufferPool::settle(const void* step, size_t k, const float* offered,
                             const std::vector<float>& output) {
  std::vector<Habit>& habits = habits_[step];
  if (habits.size() <= k) habits.resize(k + 1);
  Habit& h = habits[k];
  h.size = static_cast<int64_t>(output.size());
  if (offered) h.keeps = output.data() == offered;
}

FloatBufferPool* active_float_pool() { return current; }

FloatPoolScope::FloatPoolScope(FloatBufferPool* pool) : previous_(current) { current = pool; }
FloatPoolScope::~FloatPoolScope() { current = previous_; }

}  // namespace deepcomp::runtime
