// ThreadSanitizer happens-before marks for hand-overs inside TBB; no code outside a TSan build.
#pragma once

#include <utility>

// Debian's libtbb.so.12 is not instrumented, so TSan cannot see how TBB orders a task after its
// spawn, a pipeline token's stages after each other, a serial filter's calls on different
// workers, or the caller after the join: without these marks it reports all of them as races.
// Each mark states one ordering that TBB guarantees; it never orders two things TBB runs
// concurrently, so a real race between two tasks is still reported. A blanket `race:libtbb`
// suppression would hide those too (every worker stack has libtbb frames).
#if defined(__SANITIZE_THREAD__)
#define QINLING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QINLING_TSAN 1
#endif
#endif

#if defined(QINLING_TSAN)
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
#endif

namespace qinling::models::tsan {

// What the thread did before this call happens before whatever follows an acquire(tag).
inline void release([[maybe_unused]] const void* tag) noexcept {
#if defined(QINLING_TSAN)
  __tsan_release(const_cast<void*>(tag));
#endif
}

// Everything done before any earlier release(tag) happens before what this thread does next.
inline void acquire([[maybe_unused]] const void* tag) noexcept {
#if defined(QINLING_TSAN)
  __tsan_acquire(const_cast<void*>(tag));
#endif
}

// One call of a serial TBB filter (or any code TBB runs one call at a time): each call is
// ordered after the previous one, whichever worker ran it. Tag: the filter's state.
class Serial {
 public:
  explicit Serial(const void* tag) noexcept : tag_(tag) { acquire(tag_); }
  ~Serial() { release(tag_); }
  Serial(const Serial&) = delete;
  Serial& operator=(const Serial&) = delete;

 private:
  const void* tag_;
};

// The fork and join of one parallel construct (parallel_for, parallel_pipeline, a task group):
//   const ForkJoin fj;
//   tbb::parallel_for(..., fj.wrap([&](...) { ... }));
//   fj.joined();                                 // after the construct returned
// Tasks are ordered after the fork and before the join, not after each other.
class ForkJoin {
 public:
  ForkJoin() noexcept { release(&fork_); }
  // Also joined when an exception leaves the scope: what was declared before is destroyed after.
  ~ForkJoin() { joined(); }
  ForkJoin(const ForkJoin&) = delete;
  ForkJoin& operator=(const ForkJoin&) = delete;

  class Task {
   public:
    explicit Task(const ForkJoin& owner) noexcept : owner_(owner) { acquire(&owner_.fork_); }
    ~Task() { release(&owner_.join_); }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;

   private:
    const ForkJoin& owner_;
  };

  // A loop body whose every call is marked as a task. The fork is released once the wrapper
  // holds the body: parallel_for(first, last, f) reads the caller's closure from the workers, so
  // the closure must be written before the release (a ForkJoin made earlier does not cover it).
  template <class Body>
  class Wrapped {
   public:
    // Released on `this` too: a task must acquire before it reads owner_ (TBB's own copies of the
    // wrapper, made inside its task objects, are covered by tsan.supp).
    Wrapped(const ForkJoin& owner, Body body) : owner_(&owner), body_(std::move(body)) {
      release(this);
      release(&owner.fork_);
    }
    // TBB copies the body into each task it spawns or splits off; the task that runs the copy
    // acquires it, which is TBB's real spawn ordering (TSan cannot see it in libtbb).
    Wrapped(const Wrapped& other) : owner_(other.owner_), body_(other.body_) { release(this); }
    Wrapped& operator=(const Wrapped&) = delete;
    template <class... Args>
    void operator()(Args&&... args) const {
      acquire(this);
      const Task task(*owner_);
      body_(std::forward<Args>(args)...);
    }

   private:
    const ForkJoin* owner_;
    Body body_;
  };
  template <class Body>
  [[nodiscard]] Wrapped<Body> wrap(Body body) const {
    return Wrapped<Body>(*this, std::move(body));
  }

  // An index loop: parallel_for(blocked_range<I>(first, last), fj.each(f)) calls f(i) for every
  // index, like parallel_for(first, last, f) (same grain 1, same partitioner). Use it instead of
  // that form: its TBB wrapper (index step, body reference) is copied between workers where TSan
  // cannot see it and, read on the body's call path, it cannot be suppressed.
  template <class Body>
  [[nodiscard]] auto each(Body body) const {
    return wrap([body = std::move(body)](const auto& range) {
      for (auto i = range.begin(); i != range.end(); ++i) body(i);
    });
  }

  // Marks one call of a filter (TBB copies filter bodies itself, see tsan.supp): hold it to the end.
  [[nodiscard]] Task task() const noexcept { return Task(*this); }
  // Call after the construct returned, before reading what the tasks wrote.
  void joined() const noexcept { acquire(&join_); }

 private:
  char fork_ = 0;
  char join_ = 0;
};

}  // namespace qinling::models::tsan
