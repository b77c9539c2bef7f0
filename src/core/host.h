#pragma once

// HostName: this machine's name, as runs, pipeline executors and the trigger runner record
// it (a pipeline run's executor is found alive only on the host that recorded it), and
// IsLoopbackHost, which decides whether a server needs API tokens by default.
//
// Thread-safety: safe from any thread.

#include <string>

namespace ferry::core {

// gethostname(2), or "unknown" when the system will not say.
std::string HostName();

// Whether a listen host is loopback only: "localhost", 127.0.0.0/8, ::1 (also as
// ::ffff:127.x.y.z). False for 0.0.0.0, ::, names and every other address.
bool IsLoopbackHost(const std::string& host);

}  // namespace ferry::core
