// Stored bytes are checked against their content hash before anything uses them: a model
// artifact or a dataset chunk whose object file was changed on disk is DataLoss when
// serving loads the model, when a step fetches it, and when a dataset is exported; never a
// loaded model or a file with the wrong bytes.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/sha256.h"
#include "security/security_fixture.h"
#include "serving/endpoint_manager.h"
#include "store/manifest.h"

namespace ferry::security {
namespace {

namespace fs = std::filesystem;
using absl::StatusCode;

// How an object file is damaged.
enum class Damage {
  kFlippedByte,   // a byte of the compressed frames: zstd's checks may catch it first
  kOtherContent,  // a well-formed object of other bytes under its name: only the hash tells
};

class ArtifactHashTest : public SecurityFixture, public ::testing::WithParamInterface<Damage> {
 protected:
  void Corrupt(const core::Digest& digest) {
    const fs::path path = workspace_->objects().PathOf(digest);
    ASSERT_TRUE(fs::exists(path)) << path;
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    if (GetParam() == Damage::kFlippedByte) {
      std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
      const auto size = static_cast<std::streamoff>(fs::file_size(path));
      file.seekg(size - 8);
      char byte = 0;
      file.read(&byte, 1);
      file.seekp(size - 8);
      byte = static_cast<char>(byte ^ 0x5a);
      file.write(&byte, 1);
    } else {
      // Another object's file with this object's digest and a matching header check
      // written into its header (docs/object-format.md): it decodes cleanly.
      auto other = workspace_->objects().PutBytes("other bytes than the artifact had");
      ASSERT_TRUE(other.ok()) << other.status();
      auto bytes = core::ReadFileToString(workspace_->objects().PathOf(other->digest), 1 << 20);
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      std::memcpy(bytes->data() + 24, digest.bytes().data(), core::Digest::kSize);
      const core::Digest check = core::Sha256::Of(std::string_view(*bytes).substr(0, 56));
      std::memcpy(bytes->data() + 56, check.bytes().data(), 8);
      std::ofstream(path, std::ios::binary | std::ios::trunc) << *bytes;
    }
  }

  core::Digest ModelDigest() {
    auto version = models_->Resolve({"good", 1, std::nullopt});
    EXPECT_TRUE(version.ok()) << version.status();
    return core::Digest::FromHex(version.ok() ? version->artifact_digest : "")
        .value_or(core::Digest());
  }
};

TEST_P(ArtifactHashTest, ACorruptModelArtifactIsDataLossNotALoadedModel) {
  const core::Digest digest = ModelDigest();
  Corrupt(digest);
  if (HasFatalFailure()) return;

  auto bytes = workspace_->objects().GetBytes(digest, size_t{64} << 20);
  EXPECT_EQ(bytes.status().code(), StatusCode::kDataLoss) << bytes.status();
  EXPECT_NE(bytes.status().message().find("damaged"), std::string::npos) << bytes.status();

  // A step's model input (and a download) goes through GetToFile: nothing is left at the
  // destination.
  const fs::path fetched = temp_ / "fetched-model.json";
  EXPECT_EQ(workspace_->objects().GetToFile(digest, fetched).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(fetched));

  // Serving: the endpoint does not load it and says why.
  auto manager = serving::EndpointManager::Open(*workspace_, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  serving::DeployOptions deploy;
  deploy.endpoint = "scores";
  deploy.model = {"good", 1, std::nullopt};
  ASSERT_TRUE((*manager)->deployments().Put(deploy).ok());
  ASSERT_TRUE((*manager)->Refresh().ok());
  EXPECT_EQ((*manager)->Find("scores"), nullptr);
  auto status = (*manager)->Status("scores");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->serving, nullptr);
  EXPECT_NE(status->reason.find("damaged"), std::string::npos) << status->reason;
}

TEST_P(ArtifactHashTest, ACorruptDatasetChunkIsDataLossNotAnExportedFile) {
  auto version = datasets_->Resolve({"good", 1, std::nullopt});
  ASSERT_TRUE(version.ok()) << version.status();
  auto manifest =
      store::GetManifest(workspace_->objects(), core::Digest::FromHex(version->manifest).value());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_FALSE(manifest->chunks.empty());
  Corrupt(manifest->chunks[0].digest);
  if (HasFatalFailure()) return;

  const fs::path exported = temp_ / "exported.csv";
  auto result = datasets_->Export({"good", 1, std::nullopt}, exported);
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << result.status();
  EXPECT_FALSE(fs::exists(exported));
  auto verified = datasets_->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->problems.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Damages, ArtifactHashTest,
                         ::testing::Values(Damage::kFlippedByte, Damage::kOtherContent));

}  // namespace
}  // namespace ferry::security
