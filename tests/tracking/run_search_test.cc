#include "tracking/run_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::tracking {
namespace {

SearchRequest Search(std::string filter, std::string order = "", int max_results = 100,
                     std::string token = "", std::vector<std::string> experiments = {}) {
  SearchRequest request;
  request.filter = std::move(filter);
  request.order_by = std::move(order);
  request.max_results = max_results;
  request.page_token = std::move(token);
  request.experiments = std::move(experiments);
  return request;
}

// Runs with auc = i / 10 (some missing, one NaN), max_depth = i % 3, in two experiments.
class RunSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", clock_)).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    tracking_ = std::move(TrackingStore::Open(*workspace_, *datasets_)).value();
    for (int i = 0; i < 25; ++i) {
      CreateRunOptions options;
      options.experiment = i < 20 ? "main" : "side";
      options.name = "run" + std::to_string(i);
      options.initial.params = {{"max_depth", std::to_string(i % 3)}};
      if (i % 7 != 3) {
        const double auc = i == 5 ? std::nan("") : (i % 10) / 10.0;  // ties on purpose
        options.initial.metrics = {{"auc", auc, 0, 0}};
      }
      options.initial.tags = {{"team", i % 2 ? "Fraud" : "growth"}};
      clock_->Advance(std::chrono::seconds(1));
      auto run = tracking_->CreateRun(options);
      ASSERT_TRUE(run.ok()) << run.status();
      names_[run->run_id] = options.name;
    }
  }

  // Every page of a search, as run names in order.
  std::vector<std::string> AllPages(SearchRequest request, size_t* pages = nullptr) {
    std::vector<std::string> names;
    size_t count = 0;
    while (true) {
      auto page = SearchRuns(*tracking_, request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      ++count;
      EXPECT_LE(page->runs.size(), static_cast<size_t>(request.max_results));
      for (const tracking::Run& run : page->runs) names.push_back(run.info.name);
      if (page->next_page_token.empty()) break;
      request.page_token = page->next_page_token;
    }
    if (pages) *pages = count;
    return names;
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(1'000'000);
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<TrackingStore> tracking_;
  std::map<std::string, std::string> names_;
};

TEST_F(RunSearchTest, DefaultOrderIsNewestFirst) {
  auto page = SearchRuns(*tracking_, Search("", "", 3));
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->runs.size(), 3u);
  EXPECT_EQ(page->runs[0].info.name, "run24");
  EXPECT_EQ(page->runs[2].info.name, "run22");
  EXPECT_EQ(page->runs[0].params.size(), 1u);
  EXPECT_EQ(page->runs[0].tags.size(), 1u);
  EXPECT_FALSE(page->next_page_token.empty());
}

TEST_F(RunSearchTest, PagesByMetricVisitEveryRunOnceWithMissingOnesLast) {
  // Expected: runs with a number by auc descending then run id descending; then runs
  // without auc (or NaN) by run id.
  std::vector<std::pair<double, std::string>> present;
  std::vector<std::string> missing;
  for (const auto& [id, name] : names_) {
    auto run = tracking_->GetRun(id);
    if (run->metrics.empty() || std::isnan(run->metrics[0].value)) {
      missing.push_back(id);
    } else {
      present.push_back({run->metrics[0].value, id});
    }
  }
  std::sort(present.rbegin(), present.rend());
  std::sort(missing.begin(), missing.end());
  std::vector<std::string> expected;
  for (const auto& p : present) expected.push_back(names_[p.second]);
  for (const auto& id : missing) expected.push_back(names_[id]);

  for (int size : {1, 4, 7, 21, 100}) {
    size_t pages = 0;
    EXPECT_EQ(AllPages(Search("", "metrics.auc DESC", size), &pages), expected)
        << "page size " << size;
    EXPECT_EQ(pages, (expected.size() + size - 1) / size) << "no empty last page, size " << size;
  }
  std::vector<std::string> ascending = AllPages(Search("", "metrics.auc", 6));
  EXPECT_EQ(ascending.size(), 25u);
  EXPECT_EQ(std::set(ascending.begin(), ascending.end()).size(), 25u);
}

TEST_F(RunSearchTest, FiltersCombineWithAnd) {
  std::vector<std::string> got = AllPages(
      Search("metrics.auc >= 0.5 and params.max_depth = '1'", "metrics.auc DESC", 2));
  // i with auc >= .5 (i%10 >= 5, not NaN run5, not missing i%7==3: 10,17,24) and i%3 == 1.
  EXPECT_EQ(got, (std::vector<std::string>{"run19", "run7", "run16"}));
  EXPECT_EQ(AllPages(Search("tags.team ILIKE 'fr%' and tags.team LIKE 'fr%'")).size(), 0u);
  EXPECT_EQ(AllPages(Search("tags.team ILIKE 'fr%'")).size(), 12u);
  EXPECT_EQ(AllPages(Search("tags.team LIKE 'Fr%'")).size(), 12u);
  EXPECT_EQ(AllPages(Search("", "", 100, "", {"side"})).size(), 5u);
  EXPECT_EQ(AllPages(Search("run_name = 'run3' and status = 'running'")).size(), 1u);
  EXPECT_EQ(AllPages(Search("metrics.auc != 0.1")).size(), 17u);  // NaN and missing never match
  EXPECT_EQ(AllPages(Search("metrics.auc = 0.1", "params.max_depth DESC")),
            (std::vector<std::string>{"run11", "run1", "run21"}));
  EXPECT_EQ(SearchRuns(*tracking_, Search("", "", 100, "", {"nope"})).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RunSearchTest, TokensBelongToTheirSearch) {
  auto first = SearchRuns(*tracking_, Search("", "metrics.auc DESC", 5));
  ASSERT_TRUE(first.ok());
  auto other = SearchRuns(*tracking_, Search("", "metrics.auc ASC", 5, first->next_page_token));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("another search"), std::string::npos);
  for (const char* garbage : {"%%%", "abc", "eyJmIjoxfQ"}) {
    EXPECT_EQ(SearchRuns(*tracking_, Search("", "", 100, garbage)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << garbage;
  }
  EXPECT_EQ(SearchRuns(*tracking_, Search("", "", 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

CreateRunOptions Late() {
  CreateRunOptions options;
  options.experiment = "main";
  options.name = "late";
  return options;
}

TEST_F(RunSearchTest, RunsLoggedBetweenPagesNeitherRepeatNorShiftPages) {
  auto first = SearchRuns(*tracking_, Search("", "", 10));
  ASSERT_TRUE(first.ok());
  clock_->Advance(std::chrono::seconds(1));
  ASSERT_TRUE(tracking_->CreateRun(Late()).ok());
  auto second = SearchRuns(*tracking_, Search("", "", 10, first->next_page_token));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->runs.front().info.name, "run14");
}

}  // namespace
}  // namespace ferry::tracking
