// Fuzz target: cron expressions (models/cron) and the next fire time, and the --at time parser.
#include <cstdint>
#include <string>

#include "models/cron.hpp"
#include "models/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  constexpr std::int64_t kNow = 1796000000;  // 2026-11-29
  try {
    const auto cron = qinling::models::parse_cron(text);
    const std::int64_t next = qinling::models::next_fire(cron, kNow, "Asia/Shanghai");
    if (next <= kNow) __builtin_trap();  // "strictly after"
  } catch (const qinling::ConfigError&) {
  }
  try {
    (void)qinling::models::parse_time(text, "UTC", kNow);
  } catch (const qinling::ConfigError&) {
  }
  return 0;
}
