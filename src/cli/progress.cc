#include "cli/progress.h"

#include <fmt/format.h>

#include "cli/output.h"

namespace ferry::cli {

void Progress::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
  last_ = now;
  drawn_ = true;
  double percent = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0;
  err_ << fmt::format("\r{}: {:5.1f}% ({} of {})\x1b[K", label_, percent, HumanBytes(done),
                      HumanBytes(total))
       << std::flush;
}

void Progress::Done() {
  if (!drawn_) return;
  err_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

}  // namespace ferry::cli
