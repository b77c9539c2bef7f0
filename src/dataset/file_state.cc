#include "dataset/file_state.h"

#include <sys/stat.h>

#include <cerrno>

#include "core/file.h"
#include "core/status.h"

namespace ferry::dataset {

absl::StatusOr<FileIdentity> IdentityOf(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return core::ErrnoToStatus(errno, "stat");
  FileIdentity id;
  id.device = static_cast<int64_t>(st.st_dev);
  id.inode = static_cast<int64_t>(st.st_ino);
  id.size = static_cast<int64_t>(st.st_size);
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return id;
}

absl::StatusOr<std::optional<FileFacts>> LookupFileState(store::Transaction& tx,
                                                         const std::filesystem::path& path,
                                                         const FileIdentity& identity) {
  ASSIGN_OR_RETURN(auto row,
                   tx.QueryOptional("SELECT device, inode, size, mtime_ns, ctime_ns,"
                                    " content_sha256, manifest, chunks, format, row_count,"
                                    " bad_rows, profile, schema_json FROM file_states"
                                    " WHERE path = ?",
                                    {path.string()}));
  if (!row) return std::optional<FileFacts>();
  FileIdentity recorded{row->Int(0), row->Int(1), row->Int(2), row->Int(3), row->Int(4)};
  if (!(recorded == identity)) return std::optional<FileFacts>();
  FileFacts facts;
  facts.content_sha256 = row->Text(5);
  facts.manifest = row->Text(6);
  facts.size = identity.size;
  facts.chunks = row->Int(7);
  facts.format = table::ParseFormatName(row->Text(8)).value_or(table::Format::kOpaque);
  facts.rows = row->OptionalInt(9);
  facts.bad_rows = row->Int(10);
  facts.profile = row->OptionalText(11);
  facts.schema_json = row->Text(12);
  return std::optional<FileFacts>(std::move(facts));
}

absl::Status RecordFileState(store::Transaction& tx, const std::filesystem::path& path,
                             const FileIdentity& identity, const FileFacts& facts,
                             int64_t now_micros) {
  RETURN_IF_ERROR(tx.Execute("DELETE FROM file_states WHERE path = ?", {path.string()}).status());
  const int64_t now_ns = now_micros * 1000;
  const int64_t racy_ns = std::chrono::nanoseconds(kRacyWindow).count();
  if (now_ns - identity.mtime_ns < racy_ns || now_ns - identity.ctime_ns < racy_ns) {
    return absl::OkStatus();  // too fresh to trust; the next add reads the file again
  }
  return tx.Execute("INSERT INTO file_states (path, device, inode, size, mtime_ns, ctime_ns,"
                    " content_sha256, manifest, chunks, format, row_count, bad_rows, profile,"
                    " schema_json, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?)",
                    {path.string(), identity.device, identity.inode, identity.size,
                     identity.mtime_ns, identity.ctime_ns, facts.content_sha256, facts.manifest,
                     facts.chunks, table::FormatName(facts.format), facts.rows, facts.bad_rows,
                     facts.profile, facts.schema_json, now_micros})
      .status();
}

}  // namespace ferry::dataset
