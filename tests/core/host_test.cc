#include "core/host.h"

#include <gtest/gtest.h>

namespace ferry::core {
namespace {

TEST(HostTest, LoopbackHosts) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "128.0.0.1", "::ffff:10.0.0.1", "example.com",
        "", "localhost.evil", "127.0.0.1.nip.io"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
  EXPECT_FALSE(HostName().empty());
}

}  // namespace
}  // namespace ferry::core
