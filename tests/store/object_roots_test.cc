#include "store/object_roots.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/status.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

class ObjectRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ =
        std::move(testing::InitWorkspace(temp_ / "ws", std::make_shared<core::ManualClock>(1)))
            .value();
  }
  void Keep(const std::string& owner, const std::string& digest) {
    ASSERT_TRUE(workspace_->metadata()
                    .Write([&](Transaction& tx) {
                      return tx
                          .Execute("INSERT INTO object_roots (owner, digest) VALUES (?, ?)",
                                   {owner, digest})
                          .status();
                    })
                    .ok());
  }
  testing::TempDir temp_;
  std::unique_ptr<Workspace> workspace_;
};

TEST_F(ObjectRootsTest, EveryKeptObjectMustExistAndMissingOnesAreNamedWithTheirOwner) {
  absl::StatusOr<PutResult> stored = workspace_->objects().PutBytes("an artifact");
  ASSERT_TRUE(stored.ok());
  Keep("model:fraud@1", stored->digest.ToHex());
  absl::StatusOr<ObjectRootsCheck> clean = CheckObjectRoots(*workspace_);
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(clean->checked, 1);
  EXPECT_TRUE(clean->problems.empty());

  const std::string gone = core::Sha256::Of("never stored").ToHex();
  Keep("run:abc/model.json", gone);
  absl::StatusOr<ObjectRootsCheck> check = CheckObjectRoots(*workspace_);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->checked, 2);
  ASSERT_EQ(check->problems.size(), 1u);
  EXPECT_EQ(check->problems[0], "run:abc/model.json: object " + gone + " is missing");
}

}  // namespace
}  // namespace ferry::store
