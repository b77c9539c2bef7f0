#include "store/metadata_store.h"

#include "core/check.h"
#include "core/status.h"

namespace ferry::store {

const Value& Row::at(size_t column) const {
  FERRY_CHECK(column < values_.size());
  return values_[column];
}

bool Row::IsNull(size_t column) const { return at(column).is_null(); }

int64_t Row::Int(size_t column) const {
  const auto* v = std::get_if<int64_t>(&at(column).variant());
  FERRY_CHECK(v != nullptr && "column is not an integer");
  return *v;
}

double Row::Double(size_t column) const {
  const Value::Variant& v = at(column).variant();
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  const auto* d = std::get_if<double>(&v);
  FERRY_CHECK(d != nullptr && "column is not a number");
  return *d;
}

const std::string& Row::Text(size_t column) const {
  const auto* v = std::get_if<std::string>(&at(column).variant());
  FERRY_CHECK(v != nullptr && "column is not text");
  return *v;
}

std::optional<int64_t> Row::OptionalInt(size_t column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::optional<std::string> Row::OptionalText(size_t column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

namespace {
thread_local const Fence* current_fence = nullptr;
}  // namespace

FenceScope::FenceScope(const Fence& fence) : previous_(current_fence) { current_fence = &fence; }

FenceScope::~FenceScope() { current_fence = previous_; }

const Fence* FenceScope::Current() { return current_fence; }

absl::Status MetadataStore::Write(const TransactionFn& fn) {
  const Fence* fence = current_fence;
  if (fence == nullptr) return WriteTransaction(fn);
  return WriteTransaction([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(fence->Check(tx));
    return fn(tx);
  });
}

absl::StatusOr<std::optional<Row>> Transaction::QueryOptional(std::string_view sql, Params params) {
  ASSIGN_OR_RETURN(std::vector<Row> rows, Query(sql, params));
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

}  // namespace ferry::store
