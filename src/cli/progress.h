#pragma once

// Progress: a one-line progress display on stderr for long work, shown only when
// stderr is a terminal, redrawn at most ten times a second.
//
// Thread-safety: Update is called from one thread at a time.

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace ferry::cli {

class Progress {
 public:
  // `enabled` is usually isatty(2); a disabled Progress prints nothing.
  Progress(std::ostream& err, std::string label, bool enabled)
      : err_(err), label_(std::move(label)), enabled_(enabled) {}
  ~Progress() { Done(); }

  void Update(uint64_t done, uint64_t total);
  // Clears the line (once).
  void Done();

 private:
  std::ostream& err_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace ferry::cli
