#pragma once
// Parallel loops over independent items (samples, population members) with
// OpenMP. Exceptions cannot cross an OpenMP region, so each item's exception is
// caught and the one of the lowest item index is rethrown after the loop: the
// error a user sees does not depend on the thread count.

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace hdiff {

// Sets the number of threads used by hdiff's parallel loops (0 = all cores).
inline void set_thread_count(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

// Number of threads a parallel loop will use.
inline int thread_count() { return omp_get_max_threads(); }

// True on the thread that started the process's parallel work (OpenMP's thread 0).
inline bool on_main_thread() { return omp_get_thread_num() == 0; }

// Calls body(thread_state, i) for i in [0, count) in parallel. make_state() is
// called once per thread to build its workspace (so no allocation per item).
// Inside another parallel loop's item it runs on that item's thread alone.
template <typename MakeState, typename Body>
void parallel_for_with_state(int64_t count, MakeState make_state, Body body) {
  std::exception_ptr first_error;
  std::atomic<int64_t> first_error_index{std::numeric_limits<int64_t>::max()};
  std::mutex error_mutex;
#pragma omp parallel if (!omp_in_parallel())
  {
    std::exception_ptr state_error;
    std::optional<decltype(make_state())> state;
    try {
      state.emplace(make_state());
    } catch (...) {
      state_error = std::current_exception();
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < count; ++i) {
      if (i > first_error_index.load(std::memory_order_relaxed)) continue;  // an earlier item failed
      try {
        if (state_error) std::rethrow_exception(state_error);
        body(*state, i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (i < first_error_index.load()) {
          first_error_index.store(i);
          first_error = std::current_exception();
        }
      }
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

// Calls body(i) for i in [0, count) in parallel.
template <typename Body>
void parallel_for(int64_t count, Body body) {
  parallel_for_with_state(count, [] { return 0; }, [&](int&, int64_t i) { body(i); });
}

// Computes produce(i) for i in [0, count) in parallel, one item per thread at a
// time (an item's own parallel loops run on its thread alone), and hands every
// result to consume(i, result) on the calling thread only, in the order the
// items finish: for work whose results go where threads must not (a file, MPI,
// a caller's callback). Errors end the loop as in parallel_for.
template <typename Produce, typename Consume>
void parallel_for_consuming(int64_t count, Produce produce, Consume consume) {
  using Result = decltype(produce(int64_t{0}));
  std::mutex mutex;
  std::vector<std::pair<int64_t, Result>> finished;
  const auto hand_over = [&] {
    std::vector<std::pair<int64_t, Result>> ready;
    {
      std::lock_guard lock(mutex);
      ready.swap(finished);
    }
    for (auto& [i, result] : ready) consume(i, std::move(result));
  };
  parallel_for(count, [&](int64_t i) {
    Result result = produce(i);
    {
      std::lock_guard lock(mutex);
      finished.emplace_back(i, std::move(result));
    }
    if (on_main_thread()) hand_over();
  });
  hand_over();
}

}  // namespace hdiff
