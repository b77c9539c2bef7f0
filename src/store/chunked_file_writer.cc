#include "store/chunked_file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "core/status.h"
#include "core/strings.h"
#include "store/byte_streams.h"
#include "store/chunked_file_pipeline.h"
#include "store/object_batch.h"

namespace ferry::store {
namespace {

using core::Cat;


}  // namespace

absl::StatusOr<ChunkedFileWriter> ChunkedFileWriter::Create(ObjectStore& store,
                                                            const ChunkedFileOptions& options) {
  ASSIGN_OR_RETURN(Chunker chunker, Chunker::Create(options.chunker));
  if (options.compression_level < ObjectStore::kMinCompressionLevel ||
      options.compression_level > ObjectStore::kMaxCompressionLevel) {
    return absl::InvalidArgumentError(
        Cat("compression level must be in [", ObjectStore::kMinCompressionLevel, ", ",
            ObjectStore::kMaxCompressionLevel, "], got ", options.compression_level));
  }
  if (options.threads < 0 || options.threads > ObjectStore::kMaxThreads) {
    return absl::InvalidArgumentError(Cat("chunked write threads must be in [0, ",
                                          ObjectStore::kMaxThreads, "], got ", options.threads));
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                       ObjectStore::kMaxThreads);
  return ChunkedFileWriter(store, options, chunker, threads);
}

absl::StatusOr<ChunkedFileResult> ChunkedFileWriter::Write(ByteSource& source) const {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectBatch> batch,
                   ObjectBatch::Create(*store_, {.compression_level = options_.compression_level}));
  ASSIGN_OR_RETURN(ChunkedFileResult result, chunked_file_internal::RunPipeline(
                                                 source, chunker_, *batch, threads_, options_));
  RETURN_IF_ERROR(batch->Commit());
  // Only now, with every chunk durable, may the manifest that names them appear.
  ASSIGN_OR_RETURN(result.manifest_digest, PutManifest(*store_, result.manifest));
  return result;
}

absl::StatusOr<ChunkedFileResult> ChunkedFileWriter::WriteFd(int fd) const {
  FdSource source(fd);
  return Write(source);
}

absl::StatusOr<ChunkedFileResult> ChunkedFileWriter::WriteFile(
    const std::filesystem::path& path) const {
  ASSIGN_OR_RETURN(core::UniqueFd fd, OpenForSequentialRead(path));
  return WriteFd(fd.get());
}

}  // namespace ferry::store
