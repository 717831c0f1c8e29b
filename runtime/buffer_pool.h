// Float storage recycled across a Session's runs. While a FloatPoolScope is active on a thread,
// zeros_like_dtype (and so ops::zeros_of) takes the float storage of new values from that
// thread's pool, and the Session gives the storage of every value it releases back to it; so
// from the second run of the same graph on, operators that make their outputs that way allocate
// no output storage (no malloc, no fresh pages to fault in). The pool holds about the run's peak
// of live intermediate values between runs. Not thread-safe: one pool per Session, used by the
// thread that runs it. Depends only on the standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace deepcomp::runtime {

class FloatBufferPool {
 public:
  // An empty vector whose capacity is at least n and at most 2n + 1024 (the best fit held), or
  // an empty vector without storage when none fits.
  std::vector<float> take(int64_t n);
  // The same choice for a value every element of which the caller writes: the vector comes back
  // holding n elements, those it held at its last use left as they were (not zeroed: a Conv's
  // output was 6-8% of BlazeFace's time in memset), any beyond its old size zero. Empty, without
  // storage, when none fits.
  std::vector<float> take_for_overwrite(int64_t n);
  // Keeps v's storage for a later take (dropped when it has none).
  void give(std::vector<float>&& v);
  size_t held() const { return free_.size(); }
  // Called by the Session after each run: drops what was held through the whole run without
  // being taken. Operators whose outputs are not made from the pool hand their storage to it
  // when released all the same, so without this a Session running the same graph again and
  // again held 3 more buffers after every run of YOLOX (131 after 40 runs), without bound.
  void end_run();

  // Output storage offered to a graph step before it runs (for operators that write into the
  // output Value they are given, like the broadcasting binary ones): `step` identifies the step,
  // `k` its output. seed() returns storage for the size that output had last time, unless the
  // step did not keep what it was offered then (it built its output otherwise); settle() records
  // after the run whether the offered storage (`offered`, nullptr when none) was kept.
  std::vector<float> seed(const void* step, size_t k);
  void settle(const void* step, size_t k, const float* offered, const std::vector<float>& output);

 private:
  // The best fit held (as given back, contents and size as they were), or an empty vector;
  // `sized`: one already holding n elements first.
  std::vector<float> pick(int64_t n, bool sized = false);

  struct Habit {
    int64_t size = -1;  // the output's element count last time (-1: unknown)
    bool keeps = true;  // the step kept the storage it was offered
  };
  struct Held {
    std::vector<float> v;
    int64_t run;  // the run during which it was given back
  };
  std::vector<Held> free_;
  int64_t run_ = 0;
  std::unordered_map<const void*, std::vector<Habit>> habits_;
};

// The pool of the calling thread, or nullptr outside a FloatPoolScope.
FloatBufferPool* active_float_pool();

// Makes `pool` the calling thread's pool for the scope's lifetime (scopes nest).
class FloatPoolScope {
 public:
  explicit FloatPoolScope(FloatBufferPool* pool);
  ~FloatPoolScope();
  FloatPoolScope(const FloatPoolScope&) = delete;
  FloatPoolScope& operator=(const FloatPoolScope&) = delete;

 private:
  FloatBufferPool* previous_;
};

}  // namespace deepcomp::runtime
