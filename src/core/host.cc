#include "core/host.h"

#include <unistd.h>

namespace ferry::core {

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

}  // namespace ferry::core
