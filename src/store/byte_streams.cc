#include "store/byte_streams.h"

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {

absl::StatusOr<size_t> FillFromSource(ByteSource& source, char* buffer, size_t size) {
  size_t total = 0;
  while (total < size) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buffer + total, size - total));
    if (n == 0) break;
    if (n > size - total) {
      return absl::InternalError(
          core::Cat("byte source returned ", n, " bytes for a read of ", size - total));
    }
    total += n;
  }
  return total;
}

}  // namespace ferry::store
