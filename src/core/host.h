#pragma once

// HostName: this machine's name, as runs, pipeline executors and the trigger runner record
// it (a pipeline run's executor is found alive only on the host that recorded it).
//
// Thread-safety: safe from any thread.

#include <string>

namespace ferry::core {

// gethostname(2), or "unknown" when the system will not say.
std::string HostName();

}  // namespace ferry::core
