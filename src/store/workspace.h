#pragma once

// Workspace: one ferry project on disk, the embedded default. Its `.ferry/` folder
// holds everything:
//
//   .ferry/config.yaml    configuration (core::WorkspaceConfig)
//   .ferry/metadata.db    SQLite metadata store (WAL; -wal and -shm files beside it),
//                         unless config.yaml names a PostgreSQL database instead
//   .ferry/objects/       content-addressed object store (docs/object-format.md)
//
// A workspace is found like git finds `.git`: the `--workspace DIR` flag, else the
// FERRY_HOME environment variable, else the current folder and its parents.
// Opening applies pending schema migrations.
//
// The "core" component's table `object_roots(owner, digest)` lists objects that
// components other than datasets keep (the feature store's join-ready tables, ...):
// garbage collection keeps every digest listed there. Owners insert their rows in the
// transaction that makes the objects reachable, while holding the store lock shared.
//
// Thread-safety: a Workspace is safe to share between threads once opened; its
// stores are thread-safe and its config is immutable.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/config.h"
#include "store/metadata_store.h"
#include "store/object_store.h"

namespace ferry::store {

inline constexpr char kWorkspaceDirName[] = ".ferry";
inline constexpr char kConfigFileName[] = "config.yaml";
inline constexpr char kMetadataFileName[] = "metadata.db";
inline constexpr char kObjectsDirName[] = "objects";

// Where to look for a workspace; the caller reads flags and the environment so
// that this stays testable.
struct LocateOptions {
  std::optional<std::filesystem::path> workspace_flag;  // --workspace DIR
  std::optional<std::filesystem::path> ferry_home;      // FERRY_HOME
  std::filesystem::path current_dir;
};

// The workspace root (the folder that contains `.ferry/`). A flag or FERRY_HOME may
// name the root or the `.ferry` folder itself. Errors: NotFound with "no ferry
// workspace here; run `ferry init`" (naming where it looked) when there is none.
absl::StatusOr<std::filesystem::path> LocateWorkspace(const LocateOptions& options);

class Workspace {
 public:
  // Creates `root/.ferry` (and `root` if missing) with a default config, an empty
  // metadata store with the core schema and an empty object store. Built under a
  // temporary name and renamed into place, so a crash leaves no half workspace.
  // Errors: AlreadyExists if `root/.ferry` exists; the filesystem's error otherwise.
  // `config` is written as config.yaml; with a PostgreSQL `metadata` the database is
  // migrated (and adopted) instead of creating metadata.db.
  static absl::StatusOr<std::unique_ptr<Workspace>> Init(
      const std::filesystem::path& root, core::ClockPtr clock,
      const core::WorkspaceConfig& config = core::WorkspaceConfig());

  // Opens the workspace at `root`. Errors: NotFound if `root/.ferry` is missing;
  // InvalidArgument naming the key if config.yaml is wrong; FailedPrecondition if
  // the schema is newer than this ferry; DataLoss if the metadata file is damaged.
  static absl::StatusOr<std::unique_ptr<Workspace>> Open(const std::filesystem::path& root,
                                                         core::ClockPtr clock);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path ferry_dir() const { return root_ / kWorkspaceDirName; }
  const core::WorkspaceConfig& config() const { return config_; }
  const std::string& id() const { return id_; }  // random, fixed at init
  int64_t created_at_micros() const { return created_at_micros_; }
  MetadataStore& metadata() const { return *metadata_; }
  ObjectStore& objects() const { return *objects_; }
  const core::Clock& clock() const { return *clock_; }
  core::ClockPtr clock_ptr() const { return clock_; }

 private:
  Workspace() = default;

  std::filesystem::path root_;
  core::WorkspaceConfig config_;
  std::string id_;
  int64_t created_at_micros_ = 0;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<ObjectStore> objects_;
  core::ClockPtr clock_;
};

}  // namespace ferry::store
