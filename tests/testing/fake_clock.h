// A Clock that moves only when told (STYLE.md habit 9): tests fake time and never sleep.
#pragma once
#include <atomic>
#include <chrono>

#include "common/clock.h"

namespace writ {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = FromUnixMillis(1'800'000'000'000)) : now_(start.time_since_epoch().count()) {}
  TimePoint Now() const override { return TimePoint(TimePoint::duration(now_.load())); }
  void Advance(std::chrono::nanoseconds step) {
    now_ += std::chrono::duration_cast<TimePoint::duration>(step).count();
  }
  void Set(TimePoint time) { now_ = time.time_since_epoch().count(); }

 private:
  std::atomic<TimePoint::rep> now_;
};

}  // namespace writ
