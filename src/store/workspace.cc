#include "store/workspace.h"

#include <random>

#include <fmt/format.h>

#include "absl/strings/numbers.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/migrations.h"
#include "store/postgres_metadata_store.h"
#include "store/sqlite_metadata_store.h"
#include "store/temporary_files.h"

namespace ferry::store {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
// Where HTTP uploads and training sets are written (core::AtomicFile, flock'ed by their
// writers) before they are stored. Open removes what dead writers left there
// (store/temporary_files.h), so a server or command killed mid-write leaves nothing for
// good.
constexpr char kUploadsDirName[] = "uploads";

// The workspace's own tables. Subsystems keep their migrations under their own
// component names.
constexpr Migration kCoreMigrations[] = {
    {1, "create workspace_info",
     "CREATE TABLE workspace_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);"},
    {2, "create object_roots",
     "CREATE TABLE object_roots ("
     " owner TEXT NOT NULL,"
     " digest TEXT NOT NULL,"
     " PRIMARY KEY (owner, digest));"
     "CREATE INDEX object_roots_by_digest ON object_roots (digest);"},
    // Leader election (store/leadership.h): one row per election, its term counting up.
    {3, "create leader_terms",
     "CREATE TABLE leader_terms ("
     " name TEXT PRIMARY KEY,"
     " term BIGINT NOT NULL,"
     " holder TEXT NOT NULL,"
     " since BIGINT NOT NULL);"},
};

bool IsWorkspaceRoot(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / kWorkspaceDirName, ec);
}

// Accepts either the root or the `.ferry` folder itself.
std::optional<fs::path> AsRoot(const fs::path& given) {
  fs::path p = fs::absolute(given).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();
  if (p.filename() == kWorkspaceDirName && IsWorkspaceRoot(p.parent_path())) return p.parent_path();
  if (IsWorkspaceRoot(p)) return p;
  return std::nullopt;
}

absl::Status NoWorkspace(std::string_view where) {
  return absl::NotFoundError(
      core::Cat("no ferry workspace here (", where, "); run `ferry init`"));
}

std::string RandomId() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", device(), device(), device(), device());
}

// Gives the store its workspace id and creation time unless it has them. Several
// servers opening one new PostgreSQL database at once agree: the first insert wins.
absl::Status AdoptIdentity(MetadataStore& metadata, const core::Clock& clock) {
  return metadata.Write([&](Transaction& tx) -> absl::Status {
    const std::string now = std::to_string(clock.NowMicros());
    constexpr std::string_view kInsert =
        "INSERT INTO workspace_info (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING";
    RETURN_IF_ERROR(tx.Execute(kInsert, {"workspace_id", RandomId()}).status());
    return tx.Execute(kInsert, {"created_at", now}).status();
  });
}

absl::StatusOr<MetadataStorePtr> OpenMetadata(const fs::path& dir,
                                              const core::WorkspaceConfig& config) {
  if (IsPostgresUrl(config.metadata)) return PostgresMetadataStore::Open(config.metadata);
  return SqliteMetadataStore::Open(dir / kMetadataFileName);
}

std::string MetadataName(const fs::path& dir, const core::WorkspaceConfig& config) {
  if (IsPostgresUrl(config.metadata)) return DescribePostgresUrl(config.metadata);
  return (dir / kMetadataFileName).string();
}

absl::Status CreateLayout(const fs::path& dir, const core::WorkspaceConfig& config,
                          const core::Clock& clock) {
  std::error_code ec;
  fs::create_directory(dir / kObjectsDirName, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("create ", (dir / kObjectsDirName).string()));
  RETURN_IF_ERROR(core::WriteFileAtomically(dir / kConfigFileName, config.ToYaml()));
  ASSIGN_OR_RETURN(MetadataStorePtr metadata, OpenMetadata(dir, config));
  RETURN_IF_ERROR(ApplyMigrations(*metadata, "core", kCoreMigrations, clock.NowMicros()).status());
  return AdoptIdentity(*metadata, clock);
}

}  // namespace

absl::StatusOr<fs::path> LocateWorkspace(const LocateOptions& options) {
  if (options.workspace_flag) {
    if (auto root = AsRoot(*options.workspace_flag)) return *root;
    return NoWorkspace(core::Cat("--workspace ", options.workspace_flag->string()));
  }
  if (options.ferry_home) {
    if (auto root = AsRoot(*options.ferry_home)) return *root;
    return NoWorkspace(core::Cat("FERRY_HOME=", options.ferry_home->string()));
  }
  fs::path dir = fs::absolute(options.current_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  for (fs::path p = dir;; p = p.parent_path()) {
    if (IsWorkspaceRoot(p)) return p;
    if (p == p.root_path() || p.empty()) break;
  }
  return NoWorkspace(core::Cat("nor in any parent of ", dir.string()));
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Init(const fs::path& root,
                                                           core::ClockPtr clock,
                                                           const core::WorkspaceConfig& config) {
  const fs::path abs_root = fs::absolute(root).lexically_normal();
  const fs::path final_dir = abs_root / kWorkspaceDirName;
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    return absl::AlreadyExistsError(
        core::Cat("already a ferry workspace: ", final_dir.string(), " exists"));
  }
  fs::create_directories(abs_root, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("create ", abs_root.string()));

  // Build under a temporary name, then publish with one rename.
  const fs::path temp_dir = abs_root / (std::string(kWorkspaceDirName) + ".init-" + RandomId());
  if (!fs::create_directory(temp_dir, ec)) {
    return core::ErrnoToStatus(ec ? ec.value() : EEXIST, core::Cat("create ", temp_dir.string()));
  }
  absl::Status status = CreateLayout(temp_dir, config, *clock);
  if (status.ok() && ::rename(temp_dir.c_str(), final_dir.c_str()) != 0) {
    status = core::ErrnoToStatus(errno, core::Cat("rename to ", final_dir.string()));
  }
  if (!status.ok()) {
    fs::remove_all(temp_dir, ec);
    return status;
  }
  RETURN_IF_ERROR(core::FsyncDirectory(abs_root));
  return Open(abs_root, std::move(clock));
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Open(const fs::path& root,
                                                           core::ClockPtr clock) {
  auto ws = std::unique_ptr<Workspace>(new Workspace());
  ws->root_ = fs::absolute(root).lexically_normal();
  ws->clock_ = std::move(clock);
  const fs::path dir = ws->ferry_dir();
  if (!IsWorkspaceRoot(ws->root_)) return NoWorkspace(ws->root_.string());

  ASSIGN_OR_RETURN(std::string config_text,
                   core::ReadFileToString(dir / kConfigFileName, kMaxConfigBytes));
  ASSIGN_OR_RETURN(ws->config_, core::WorkspaceConfig::Parse(config_text));

  ASSIGN_OR_RETURN(ws->metadata_, OpenMetadata(dir, ws->config_));
  RETURN_IF_ERROR(
      ApplyMigrations(*ws->metadata_, "core", kCoreMigrations, ws->clock_->NowMicros()).status());
  // A PostgreSQL database the folder was pointed at after `ferry init` (or that other
  // servers share) gets its identity on first use; a SQLite file always has one.
  if (ws->metadata_->dialect() == Dialect::kPostgresql) {
    RETURN_IF_ERROR(AdoptIdentity(*ws->metadata_, *ws->clock_));
  }
  RETURN_IF_ERROR(ws->metadata_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT key, value FROM workspace_info", {}));
    for (const Row& row : rows) {
      if (row.Text(0) == "workspace_id") ws->id_ = row.Text(1);
      if (row.Text(0) == "created_at" && !absl::SimpleAtoi(row.Text(1), &ws->created_at_micros_)) {
        return absl::DataLossError("workspace_info.created_at is not a number");
      }
    }
    return absl::OkStatus();
  }));
  if (ws->id_.empty()) {
    return absl::DataLossError(
        core::Cat("metadata store ", MetadataName(dir, ws->config_), " has no workspace id"));
  }
  ASSIGN_OR_RETURN(ws->objects_, ObjectStore::Open(dir / kObjectsDirName, ObjectStore::Options{}));
  // Uploads and training sets cut short by a crash (the object store cleaned its own).
  RETURN_IF_ERROR(RemoveFilesOfDeadWriters(dir / kUploadsDirName).status());
  return ws;
}

}  // namespace ferry::store
