#pragma once

// Small helpers that print what commands return, the same way everywhere: human
// sizes, timestamps, aligned tables.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/strings.h"

namespace ferry::cli {

// 1536 -> "1.5 KiB"; bytes below 1 KiB as "512 B".
using core::HumanBytes;

// Prints rows as columns padded to the widest cell; the first row is the header.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace ferry::cli
