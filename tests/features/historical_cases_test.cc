// Walks tests/data/features/: each folder is one point-in-time join case. Its
// case.yaml names the source datasets to add (dataset: file), the definitions file to
// apply, the entity table, the features (or service) to request, and either the
// expected training set (compared byte for byte with the exported version) or an
// expected error (a status code name and a substring of the message).

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file.h"
#include "features/historical_retrieval.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(FERRY_FEATURES_TEST_DATA)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class HistoricalCaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HistoricalCaseTest, MatchesExpectedTrainingSet) {
  const fs::path dir = fs::path(FERRY_FEATURES_TEST_DATA) / GetParam();
  const YAML::Node spec = YAML::LoadFile((dir / "case.yaml").string());
  testing::TempDir temp;
  auto workspace = std::move(testing::InitWorkspace(temp / "ws", core::SystemClock::Shared())).value();
  auto datasets = std::move(dataset::DatasetStore::Open(*workspace)).value();
  auto registry = std::move(FeatureRegistry::Open(*workspace, *datasets)).value();

  for (const auto& kv : spec["datasets"]) {
    // Each entry adds one version; a list adds several in order.
    std::vector<std::string> files;
    if (kv.second.IsSequence()) {
      files = kv.second.as<std::vector<std::string>>();
    } else {
      files.push_back(kv.second.as<std::string>());
    }
    for (const std::string& file : files) {
      auto added = datasets->Add(kv.first.as<std::string>(), dir / file, {});
      ASSERT_TRUE(added.ok()) << file << ": " << added.status();
    }
  }
  const std::string definitions = spec["definitions"] ? spec["definitions"].as<std::string>()
                                                      : std::string("features.yaml");
  auto defs = ParseFeatureDefinitions(ReadText(dir / definitions), definitions);
  ASSERT_TRUE(defs.ok()) << defs.status();
  auto applied = registry->Apply(*defs, {});
  ASSERT_TRUE(applied.ok()) << applied.status();

  HistoricalOptions options;
  options.entities = spec["entities"] ? (dir / spec["entities"].as<std::string>()).string()
                                      : (dir / "entities.csv").string();
  if (spec["entities_dataset"]) {
    const std::string name = spec["entities_dataset"].as<std::string>();
    auto added = datasets->Add(name, options.entities, {});
    ASSERT_TRUE(added.ok()) << added.status();
    options.entities = added->version.Ref();
  }
  options.output = "training";
  options.full_feature_names = spec["full_feature_names"] && spec["full_feature_names"].as<bool>();
  options.threads = spec["threads"] ? spec["threads"].as<int>() : 2;
  absl::StatusOr<FeatureSelection> selection =
      spec["service"] ? registry->SelectService(spec["service"].as<std::string>())
                      : registry->Select(spec["features"].as<std::vector<std::string>>());
  absl::StatusOr<HistoricalResult> result = absl::UnknownError("not run");
  if (selection.ok()) {
    options.selection = *selection;
    result = RetrieveHistorical(*workspace, *datasets, options);
  } else {
    result = selection.status();
  }

  if (spec["error"]) {
    ASSERT_FALSE(result.ok()) << "expected an error";
    EXPECT_EQ(absl::StatusCodeToString(result.status().code()),
              spec["error"]["code"].as<std::string>())
        << result.status();
    EXPECT_NE(result.status().message().find(spec["error"]["contains"].as<std::string>()),
              std::string::npos)
        << result.status();
    // Nothing was stored.
    EXPECT_FALSE(datasets->Resolve({"training", std::nullopt, std::nullopt}).ok());
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status();
  const fs::path exported = temp / "training.csv";
  ASSERT_TRUE(datasets->Export(*dataset::ParseDatasetRef(result->added.version.Ref()), exported)
                  .ok());
  const std::string expected = ReadText(dir / "expected.csv");
  EXPECT_EQ(ReadText(exported), expected);
  EXPECT_EQ(result->rows, std::count(expected.begin(), expected.end(), '\n') - 1);
}

INSTANTIATE_TEST_SUITE_P(Cases, HistoricalCaseTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ferry::features
