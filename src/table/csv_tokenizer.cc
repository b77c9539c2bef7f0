#include "table/csv_tokenizer.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/container/flat_hash_map.h"
#include "core/status.h"
#include "core/strings.h"
#include "table/value_parse.h"

namespace ferry::table {
namespace {

// One bit per byte of a 64-byte block, for the bytes that matter to the fast path.
struct BlockMasks {
  uint64_t comma = 0;
  uint64_t newline = 0;
  uint64_t quote = 0;
  uint64_t high = 0;  // bytes >= 0x80: the only ones that can be invalid UTF-8
};

inline BlockMasks ScanBlock(const char* p) {
  BlockMasks m;
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i quote = _mm_set1_epi8('"');
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const auto bits = [&](__m128i c) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, c))))
             << (16 * i);
    };
    m.comma |= bits(comma);
    m.newline |= bits(newline);
    m.quote |= bits(quote);
    m.high |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(v))) << (16 * i);
  }
#else
  for (int i = 0; i < 64; ++i) {
    m.comma |= static_cast<uint64_t>(p[i] == ',') << i;
    m.newline |= static_cast<uint64_t>(p[i] == '\n') << i;
    m.quote |= static_cast<uint64_t>(p[i] == '"') << i;
    m.high |= static_cast<uint64_t>(static_cast<uint8_t>(p[i]) >= 0x80) << i;
  }
#endif
  return m;
}

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// A batch holds at most this many fields, and at most kMaxBatchRecords records: enough
// records for a handler's per-column loops to run long, few enough that the batch's
// views (1 MiB at most) stay in cache while handled.
constexpr size_t kBatchFields = 65'536;
constexpr size_t kMaxBatchRecords = 512;

}  // namespace

CsvTokenizer::CsvTokenizer(ErrorMode mode, const InputLimits& limits, Handler& handler)
    : mode_(mode), limits_(limits), handler_(handler), span_limit_(limits.max_columns + 1) {
  // Record-relative offsets are 32-bit.
  limits_.max_record_bytes = std::min<size_t>(limits_.max_record_bytes, uint32_t{0xFFFFFFF0});
  spans_.resize(span_limit_);
}

absl::Status CsvTokenizer::Consume(std::string_view bytes) {
  RETURN_IF_ERROR(error_);
  // The batch's views may point into `bytes`: it goes to the handler before returning.
  absl::Status status = DeliverAfter(Scan(bytes.data(), bytes.size()));
  data_ = nullptr;
  if (!status.ok()) error_ = status;
  return status;
}

absl::Status CsvTokenizer::DeliverAfter(absl::Status status) {
  absl::Status delivered = DeliverBatch();
  return delivered.ok() ? status : delivered;
}

absl::Status CsvTokenizer::DeliverBatch() {
  if (batch_.size_ == 0) return absl::OkStatus();
  absl::Status status = handler_.OnRecords(batch_);
  batch_.size_ = 0;
  batch_.copies_.clear();
  return status;
}

char CsvTokenizer::ByteAt(int64_t rel) const {
  if (origin_ >= 0) return data_[origin_ + rel];
  if (rel < static_cast<int64_t>(carry_.size())) return carry_[static_cast<size_t>(rel)];
  return data_[rel - static_cast<int64_t>(carry_.size())];
}

absl::Status CsvTokenizer::Scan(const char* data, size_t size) {
  data_ = data;
  origin_ = -static_cast<int64_t>(carry_.size());
  size_t p = 0;
  while (p < size) {
    // A block that would take the record past max_record_bytes goes byte by byte, which
    // finds exactly where (or whether) the record outgrows the limit.
    if ((state_ == State::kFieldStart || state_ == State::kUnquoted) && size - p >= 64 &&
        Rel(p + 64) <= static_cast<int64_t>(limits_.max_record_bytes)) {
      const BlockMasks m = ScanBlock(data + p);
      if (m.quote == 0) {
        RETURN_IF_ERROR(SplitBlock(p, m.comma | m.newline, m.newline, m.high));
        p += 64;
        continue;
      }
    }
    ASSIGN_OR_RETURN(p, ScanBytes(p, std::min(size, p + 64), size));
  }
  // Keep the record in progress for the next block.
  if (state_ != State::kSkipLine) {
    if (direct_) LeaveDirect();  // its views would point into this block
    if (origin_ >= 0) {
      carry_.assign(data + origin_, size - static_cast<size_t>(origin_));
    } else {
      carry_.append(data, size);
    }
    if (carry_.size() > limits_.max_record_bytes) return RecordTooLong();
  }
  return absl::OkStatus();
}

absl::Status CsvTokenizer::SplitBlock(size_t p, uint64_t separators, uint64_t newlines,
                                      uint64_t high) {
  // Scan calls this only while the block ends within max_record_bytes (< 4 GiB) of the
  // record's start, so offsets fit the spans.
  // The record in progress lives in locals here (a store and reload of the members per
  // field would chain the fields' iterations); EndRecord gets and gives them back. A
  // direct_ record's fields go straight into the batch as views (see direct_).
  int64_t origin = origin_;
  uint32_t begin = field_begin_;
  size_t count = field_count_;
  bool direct = direct_;
  std::string_view* row = batch_.fields_.data() + batch_.size_;
  size_t stride = batch_.capacity_;
  FieldSpan* spans = spans_.data();
  size_t limit = span_limit_;
  while (separators != 0) {
    const int bit = __builtin_ctzll(separators);
    const size_t at = p + static_cast<size_t>(bit);
    const auto end = static_cast<uint32_t>(static_cast<int64_t>(at) - origin);
    if (direct) {
      if (count < limit) row[count * stride] = std::string_view(data_ + origin + begin, end - begin);
    } else if (count < limit) {
      spans[count] = FieldSpan{begin, end, 0};
    }
    ++count;
    begin = end + 1;
    if ((newlines >> bit) & 1) {
      ++line_;
      // This record's bytes in the block are bits 0..bit (earlier records' bits are
      // cleared); earlier blocks' are summed up in record_high_.
      const uint64_t mine = bit == 63 ? ~uint64_t{0} : (uint64_t{2} << bit) - 1;
      const bool maybe_non_ascii = record_high_ || (high & mine) != 0;
      high &= ~mine;
      field_count_ = count;
      field_begin_ = begin;
      if (!EndSimpleRecord(at, maybe_non_ascii)) {
        RETURN_IF_ERROR(EndRecord(at, maybe_non_ascii));
      } else if (batch_.size_ == batch_.capacity_) {
        RETURN_IF_ERROR(DeliverBatch());
      }
      origin = origin_;
      begin = field_begin_;
      count = field_count_;
      direct = direct_;
      row = batch_.fields_.data() + batch_.size_;
      stride = batch_.capacity_;  // the header sets the batch's shape and the span count
      spans = spans_.data();
      limit = span_limit_;
    }
    separators &= separators - 1;
  }
  field_count_ = count;
  field_begin_ = begin;
  record_high_ = record_high_ || high != 0;
  state_ = Rel(p + 64) == field_begin_ ? State::kFieldStart : State::kUnquoted;
  return absl::OkStatus();
}

bool CsvTokenizer::EndSimpleRecord(size_t at, bool maybe_non_ascii) {
  // EndRecord for the usual record: all in this block, unquoted, as many fields as the
  // header (more than one: a lone field may be an empty line), none too long, valid
  // UTF-8. Anything else goes to EndRecord.
  const size_t columns = batch_.columns_;
  if (field_count_ != columns || columns < 2 || origin_ < 0 || record_escaped_ ||
      !bad_reason_.empty()) {
    return false;
  }
  const char* const record = data_ + origin_;
  const auto length = static_cast<size_t>(Rel(at));
  if (length > limits_.max_field_bytes) return false;
  const size_t stride = batch_.capacity_;
  std::string_view* const fields = batch_.fields_.data() + batch_.size_;
  if (!direct_) {
    const FieldSpan* const spans = spans_.data();
    for (size_t i = 0; i < columns; ++i) {
      fields[i * stride] = std::string_view(record + spans[i].begin, spans[i].end - spans[i].begin);
    }
  }
  if (maybe_non_ascii && !IsAscii(record, length)) {
    for (size_t i = 0; i < columns; ++i) {
      const std::string_view field = fields[i * stride];
      if (!IsValidUtf8(field.data(), field.size())) return false;
    }
  }
  // A CR before the LF ends the line, not the last field.
  std::string_view& last = fields[(columns - 1) * stride];
  if (!last.empty() && last.back() == '\r') last.remove_suffix(1);
  batch_.lines_[batch_.size_++] = record_line_;
  ++records_;
  // StartRecord, less what this record cannot have changed.
  field_count_ = 0;
  record_high_ = false;
  direct_ = true;
  origin_ = static_cast<int64_t>(at) + 1;
  field_begin_ = 0;
  record_line_ = line_;
  return true;
}

void CsvTokenizer::LeaveDirect() {
  const char* const record = data_ + origin_;
  const std::string_view* const fields = batch_.fields_.data() + batch_.size_;
  const size_t stored = std::min(field_count_, span_limit_);
  for (size_t i = 0; i < stored; ++i) {
    const std::string_view field = fields[i * batch_.capacity_];
    const auto begin = static_cast<uint32_t>(field.data() - record);
    spans_[i] = FieldSpan{begin, begin + static_cast<uint32_t>(field.size()), 0};
  }
  direct_ = false;
}

absl::StatusOr<size_t> CsvTokenizer::ScanBytes(size_t p, size_t stop, size_t size) {
  // Records this path touches get a full UTF-8 check (no masks here).
  record_high_ = true;
  while (p < stop) {
    const char c = data_[p];
    switch (state_) {
      case State::kFieldStart:
        if (c == '"') {
          state_ = State::kQuoted;
          field_flags_ = kFieldQuoted;
          ++p;
          break;
        }
        field_flags_ = 0;
        [[fallthrough]];
      case State::kUnquoted:
        if (c == ',') {
          RETURN_IF_ERROR(EndField(Rel(p), 0));
          state_ = State::kFieldStart;
        } else if (c == '\n') {
          RETURN_IF_ERROR(EndField(Rel(p), 0));
          ++line_;
          RETURN_IF_ERROR(EndRecord(p, true));
          record_high_ = true;
          state_ = State::kFieldStart;
        } else if (c == '"') {
          RETURN_IF_ERROR(QuoteError(
              p, core::Cat("field ", field_count_ + 1, ": quote inside an unquoted field")));
        } else {
          state_ = State::kUnquoted;
        }
        ++p;
        break;
      case State::kQuoted: {
        // Jump to the next quote, past any number of blocks' worth of content.
        const void* quote = std::memchr(data_ + p, '"', size - p);
        const size_t end = quote ? static_cast<size_t>(static_cast<const char*>(quote) - data_) : size;
        line_ += std::count(data_ + p, data_ + end, '\n');
        if (quote == nullptr) return size;
        state_ = State::kQuoteInQuoted;
        p = end + 1;
        break;
      }
      case State::kQuoteInQuoted:
        if (c == '"') {
          field_flags_ |= kFieldEscaped;
          state_ = State::kQuoted;
        } else if (c == ',') {
          RETURN_IF_ERROR(EndField(Rel(p) - 1, field_flags_));
          state_ = State::kFieldStart;
        } else if (c == '\n') {
          RETURN_IF_ERROR(EndField(Rel(p) - 1, field_flags_));
          ++line_;
          RETURN_IF_ERROR(EndRecord(p, true));
          record_high_ = true;
          state_ = State::kFieldStart;
        } else if (c == '\r') {
          state_ = State::kQuotedCr;
        } else {
          RETURN_IF_ERROR(QuoteError(p, core::Cat("field ", field_count_ + 1,
                                                  ": unexpected character after a closing quote")));
        }
        ++p;
        break;
      case State::kQuotedCr:
        if (c == '\n') {
          RETURN_IF_ERROR(EndField(Rel(p) - 2, field_flags_));
          ++line_;
          RETURN_IF_ERROR(EndRecord(p, true));
          record_high_ = true;
          state_ = State::kFieldStart;
        } else {
          RETURN_IF_ERROR(QuoteError(p, core::Cat("field ", field_count_ + 1,
                                                  ": unexpected character after a closing quote")));
        }
        ++p;
        break;
      case State::kSkipLine: {
        const void* newline = std::memchr(data_ + p, '\n', size - p);
        if (newline == nullptr) return size;
        p = static_cast<size_t>(static_cast<const char*>(newline) - data_) + 1;
        ++line_;
        StartRecord(p);
        record_high_ = true;
        state_ = State::kFieldStart;
        break;
      }
    }
  }
  return p;
}

absl::Status CsvTokenizer::EndField(int64_t end, uint32_t flags) {
  if (direct_) LeaveDirect();
  if (end >= static_cast<int64_t>(limits_.max_record_bytes)) return RecordTooLong();
  const bool quoted = (flags & kFieldQuoted) != 0;
  const int64_t begin = field_begin_ + (quoted ? 1 : 0);
  // The next field starts after the separator (and after the closing quote, if any).
  field_begin_ = static_cast<uint32_t>(end + (quoted ? 2 : 1));
  if (flags & kFieldEscaped) record_escaped_ = true;
  if (field_count_ < span_limit_) {
    spans_[field_count_] = FieldSpan{static_cast<uint32_t>(begin), static_cast<uint32_t>(end), flags};
  }
  ++field_count_;
  return absl::OkStatus();
}

void CsvTokenizer::StartRecord(size_t at) {
  field_count_ = 0;
  record_high_ = false;
  record_escaped_ = false;
  direct_ = header_done_;
  bad_reason_.clear();
  carry_.clear();
  origin_ = static_cast<int64_t>(at);
  field_begin_ = 0;
  record_line_ = line_;
}

absl::Status CsvTokenizer::EndRecord(size_t at, bool maybe_non_ascii) {
  if (direct_) LeaveDirect();
  const int64_t line = record_line_;
  const size_t stored = std::min(field_count_, span_limit_);
  // A CR before the LF ends the line, not the last (unquoted) field.
  FieldSpan& last = spans_[stored - 1];
  if (stored == field_count_ && last.flags == 0 && last.end > last.begin &&
      ByteAt(last.end - 1) == '\r') {
    --last.end;
  }
  // A physically empty line is not a record.
  if (field_count_ == 1 && last.flags == 0 && last.begin == last.end) {
    StartRecord(at + 1);
    return absl::OkStatus();
  }
  const char* record;
  if (origin_ >= 0) {
    record = data_ + origin_;
  } else {
    carry_.append(data_, at);
    record = carry_.data();
  }
  const int64_t length = Rel(at);
  if (bad_reason_.empty() && header_done_ && field_count_ != header_.size()) {
    bad_reason_ = core::Cat("expected ", header_.size(), " fields, got ", field_count_);
  }
  if (bad_reason_.empty() && field_count_ > limits_.max_columns) {
    bad_reason_ = core::Cat(field_count_, " fields, more than the limit of ", limits_.max_columns);
  }
  if (bad_reason_.empty() && static_cast<size_t>(length) > limits_.max_field_bytes) {
    for (size_t i = 0; i < stored; ++i) {
      if (spans_[i].end - spans_[i].begin > limits_.max_field_bytes) {
        bad_reason_ = core::Cat("field ", i + 1, " is longer than ", limits_.max_field_bytes, " bytes");
        break;
      }
    }
  }
  if (bad_reason_.empty() && maybe_non_ascii && !IsAscii(record, static_cast<size_t>(length))) {
    for (size_t i = 0; i < stored; ++i) {
      if (!IsValidUtf8(record + spans_[i].begin, spans_[i].end - spans_[i].begin)) {
        bad_reason_ = core::Cat("field ", i + 1, ": invalid UTF-8");
        break;
      }
    }
  }
  if (!bad_reason_.empty()) {
    RETURN_IF_ERROR(BadRecord(line, std::move(bad_reason_)));
    StartRecord(at + 1);
    return absl::OkStatus();
  }
  if (!header_done_) {
    RETURN_IF_ERROR(AcceptHeader(line, record));
    StartRecord(at + 1);
    return absl::OkStatus();
  }
  ++records_;
  AddToBatch(record, line);
  StartRecord(at + 1);
  if (batch_.size_ == batch_.capacity_) return DeliverBatch();
  return absl::OkStatus();
}

namespace {

// Appends a field's content to `out`, with "" unescaped to " if `escaped`.
void AppendField(std::string& out, const char* begin, const char* end, bool escaped) {
  if (!escaped) {
    out.append(begin, end);
    return;
  }
  for (const char* p = begin; p < end; ++p) {
    out.push_back(*p);
    if (*p == '"') ++p;  // the second quote of ""
  }
}

}  // namespace

void CsvTokenizer::AddToBatch(const char* record, int64_t line) {
  const size_t row = batch_.size_++;
  batch_.lines_[row] = line;
  std::string_view* out = batch_.fields_.data() + row;
  const size_t stride = batch_.capacity_;
  const FieldSpan* const spans = spans_.data();
  const size_t fields = field_count_;
  if (origin_ >= 0 && !record_escaped_) {
    // The common case: views into the block being consumed.
    for (size_t i = 0; i < fields; ++i, out += stride) {
      *out = std::string_view(record + spans[i].begin, spans[i].end - spans[i].begin);
    }
    return;
  }
  // The record is in carry_ or needs unescaping: copied where it outlives this call.
  std::string& copy = batch_.copies_.emplace_back();
  copy.reserve(spans[fields - 1].end);  // no reallocation below: views stay valid
  for (size_t i = 0; i < fields; ++i, out += stride) {
    const FieldSpan& s = spans[i];
    const size_t start = copy.size();
    AppendField(copy, record + s.begin, record + s.end, (s.flags & kFieldEscaped) != 0);
    *out = std::string_view(copy.data() + start, copy.size() - start);
  }
}

absl::Status CsvTokenizer::AcceptHeader(int64_t line, const char* record) {
  header_.assign(field_count_, std::string());
  for (size_t i = 0; i < field_count_; ++i) {
    const FieldSpan& s = spans_[i];
    AppendField(header_[i], record + s.begin, record + s.end, (s.flags & kFieldEscaped) != 0);
  }
  if (header_[0].starts_with(kByteOrderMark)) header_[0].erase(0, kByteOrderMark.size());
  absl::flat_hash_map<std::string, size_t> seen;
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i].empty()) {
      return absl::InvalidArgumentError(
          core::Cat("line ", line, ": header: column ", i + 1, " has an empty name"));
    }
    const auto [it, inserted] = seen.emplace(header_[i], i);
    if (!inserted) {
      return absl::InvalidArgumentError(core::Cat("line ", line, ": header: duplicate column name \"",
                                                  header_[i], "\" (columns ", it->second + 1,
                                                  " and ", i + 1, ")"));
    }
  }
  header_done_ = true;
  span_limit_ = header_.size();
  spans_.resize(span_limit_);
  batch_.columns_ = header_.size();
  batch_.capacity_ = std::clamp<size_t>(kBatchFields / header_.size(), 1, kMaxBatchRecords);
  batch_.fields_.resize(batch_.capacity_ * batch_.columns_);
  batch_.lines_.resize(batch_.capacity_);
  return handler_.OnHeader(header_);
}

absl::Status CsvTokenizer::BadRecord(int64_t line, std::string reason) {
  if (mode_ == ErrorMode::kStrict || !header_done_) {
    return absl::InvalidArgumentError(
        core::Cat("line ", line, ": ", header_done_ ? "" : "header: ", reason));
  }
  bad_rows_.Record(line, std::move(reason));
  return absl::OkStatus();
}

absl::Status CsvTokenizer::RecordTooLong() const {
  return absl::InvalidArgumentError(core::Cat("line ", record_line_, ": record longer than ",
                                              limits_.max_record_bytes,
                                              " bytes (is a quote never closed?)"));
}

absl::Status CsvTokenizer::QuoteError(size_t at, std::string reason) {
  // Past the limit, the record is too long whatever else is wrong with it: fed in small
  // blocks, the carried record would have been refused before this byte arrived.
  if (Rel(at) > static_cast<int64_t>(limits_.max_record_bytes)) return RecordTooLong();
  RETURN_IF_ERROR(BadRecord(record_line_, std::move(reason)));
  state_ = State::kSkipLine;
  carry_.clear();
  return absl::OkStatus();
}

absl::Status CsvTokenizer::Finish() {
  RETURN_IF_ERROR(error_);
  absl::Status status = [&]() -> absl::Status {
    origin_ = -static_cast<int64_t>(carry_.size());
    static constexpr char kNoBytes[1] = {0};
    data_ = kNoBytes;
    switch (state_) {
      case State::kSkipLine:
        break;
      case State::kQuoted:
        RETURN_IF_ERROR(BadRecord(record_line_, core::Cat("field ", field_count_ + 1,
                                                          ": quoted field not closed at end of file")));
        break;
      case State::kFieldStart:
        if (field_count_ == 0 && carry_.empty()) break;
        [[fallthrough]];
      case State::kUnquoted:
        RETURN_IF_ERROR(EndField(Rel(0), 0));
        RETURN_IF_ERROR(EndRecord(0, true));
        break;
      case State::kQuoteInQuoted:
        RETURN_IF_ERROR(EndField(Rel(0) - 1, field_flags_));
        RETURN_IF_ERROR(EndRecord(0, true));
        break;
      case State::kQuotedCr:
        RETURN_IF_ERROR(EndField(Rel(0) - 2, field_flags_));
        RETURN_IF_ERROR(EndRecord(0, true));
        break;
    }
    state_ = State::kFieldStart;
    carry_.clear();
    if (!header_done_) {
      return absl::InvalidArgumentError("empty file: a CSV file needs a header row");
    }
    return absl::OkStatus();
  }();
  status = DeliverAfter(std::move(status));
  data_ = nullptr;
  if (!status.ok()) error_ = status;
  return status;
}

}  // namespace ferry::table
