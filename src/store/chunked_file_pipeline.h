#pragma once

// The threads behind ChunkedFileWriter::Write (see chunked_file_writer.h for the
// design): reads, chunks, hashes, observes, and compresses and writes new chunks into
// an ObjectBatch. Internal to the store.

#include "absl/status/statusor.h"
#include "store/chunked_file_writer.h"
#include "store/object_batch.h"

namespace ferry::store::chunked_file_internal {

// Runs the pipeline over all of `source`, writing new chunks into `batch` (not
// committed). Returns everything but manifest_digest. Errors: as
// ChunkedFileWriter::Write; on error the batch holds partial work and must be dropped.
absl::StatusOr<ChunkedFileResult> RunPipeline(ByteSource& source, const Chunker& chunker,
                                              ObjectBatch& batch, int threads,
                                              const ChunkedFileOptions& options);

}  // namespace ferry::store::chunked_file_internal
