// The audit log's writer: ordering, flushing, and its file.

#include "auth/audit_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "auth/token.h"
#include "core/clock.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::auth {
namespace {

TEST(AuditLogTest, EntriesFromManyThreadsAreAllStoredInOrderOfIds) {
  testing::TempDir temp;
  auto workspace =
      std::move(testing::InitWorkspace(temp / "ws", core::SystemClock::Shared())).value();
  {
    auto writer = AuditWriter::Open(workspace->metadata(), temp / "a.jsonl",
                                    core::SystemClock::Shared()->NowMicros())
                      .value();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i) {
          AuditEntry entry;
          entry.at_micros = core::SystemClock::Shared()->NowMicros();
          entry.actor = "token:t" + std::to_string(t);
          entry.source = "-";
          entry.action = "POST /x";
          entry.target = "/x/" + std::to_string(i);
          entry.status = 200;
          entry.outcome = "ok";
          entry.detail = std::string(5000, 'd');
          writer->Record(std::move(entry));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }  // the destructor writes what is queued
  AuditQuery all;
  all.limit = 10'000;
  auto entries = ListAudit(workspace->metadata(), all);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1000u);
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].id, static_cast<int64_t>(1000 - i));
  }
  EXPECT_EQ((*entries)[0].detail.size(), 1000u);  // bounded
  std::ifstream file(temp / "a.jsonl");
  int lines = 0;
  for (std::string line; std::getline(file, line);) ++lines;
  EXPECT_EQ(lines, 1000);
  EXPECT_EQ(OutcomeOfStatus(201), "ok");
  EXPECT_EQ(OutcomeOfStatus(429), "denied");
  EXPECT_EQ(OutcomeOfStatus(404), "error");
}

TEST(AuditLogTest, AnUnwritableFileIsAClearError) {
  testing::TempDir temp;
  auto workspace =
      std::move(testing::InitWorkspace(temp / "ws", core::SystemClock::Shared())).value();
  auto writer = AuditWriter::Open(workspace->metadata(), temp / "missing" / "a.jsonl",
                                  core::SystemClock::Shared()->NowMicros());
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("audit log file"), std::string::npos);
}

}  // namespace
}  // namespace ferry::auth
