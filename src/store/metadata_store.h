#pragma once

// MetadataStore: the narrow interface every subsystem uses to keep its metadata
// (dataset versions, feature definitions, runs, models, deployments, ...). Callers
// write portable SQL with `?` placeholders and typed parameters, inside one
// transaction per operation; they never see which engine runs it. SQLite (WAL,
// embedded) implements it today; a PostgreSQL implementation plugs in later without
// touching callers. The portable SQL subset is described in src/store/README.md.
//
// Thread-safety: a MetadataStore is safe to use from many threads at once. A
// Transaction belongs to the thread that runs the callback and must not escape it.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::store {

// A parameter or column value: NULL, 64-bit integer, double or text.
class Value {
 public:
  using Variant = std::variant<std::monostate, int64_t, double, std::string>;

  Value() = default;
  Value(std::nullptr_t) {}                                // NOLINT: implicit by design
  Value(int v) : v_(static_cast<int64_t>(v)) {}           // NOLINT
  Value(int64_t v) : v_(v) {}                             // NOLINT
  Value(uint32_t v) : v_(static_cast<int64_t>(v)) {}      // NOLINT
  Value(bool v) : v_(static_cast<int64_t>(v ? 1 : 0)) {}  // NOLINT
  Value(double v) : v_(v) {}                              // NOLINT
  Value(std::string v) : v_(std::move(v)) {}              // NOLINT
  Value(std::string_view v) : v_(std::string(v)) {}       // NOLINT
  Value(const char* v) : v_(std::string(v)) {}            // NOLINT
  template <typename T>
  Value(const std::optional<T>& v) {  // NOLINT
    if (v) *this = Value(*v);
  }

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  const Variant& variant() const { return v_; }
  friend bool operator==(const Value&, const Value&) = default;

 private:
  Variant v_;
};

using Params = std::initializer_list<Value>;

// One result row. Accessors check the column's type: asking an integer column for
// text is a programming error (the schema is ours), so it aborts with the column
// index rather than returning a guess.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  bool IsNull(size_t column) const;
  int64_t Int(size_t column) const;
  double Double(size_t column) const;  // integer columns convert
  const std::string& Text(size_t column) const;
  std::optional<int64_t> OptionalInt(size_t column) const;
  std::optional<std::string> OptionalText(size_t column) const;
  const Value& at(size_t column) const;

 private:
  std::vector<Value> values_;
};

enum class Dialect { kSqlite, kPostgresql };

class Transaction {
 public:
  virtual ~Transaction() = default;

  // The engine running it, for the few things that differ (NotifyChange).
  virtual Dialect dialect() const = 0;

  // Runs one statement that returns no rows; returns the number of rows it changed.
  // Errors: AlreadyExists on a unique/primary-key violation, FailedPrecondition on
  // another constraint (foreign key, NOT NULL, CHECK), InvalidArgument for SQL the
  // engine rejects, Unavailable when the store stays busy, DataLoss on corruption.
  virtual absl::StatusOr<int64_t> Execute(std::string_view sql, std::span<const Value> params) = 0;
  absl::StatusOr<int64_t> Execute(std::string_view sql, Params params = {}) {
    return Execute(sql, std::span<const Value>(params.begin(), params.size()));
  }

  // Runs a query and returns all its rows. Same errors as Execute. Callers bound
  // result sizes with LIMIT; the store does not page for them.
  virtual absl::StatusOr<std::vector<Row>> Query(std::string_view sql,
                                                 std::span<const Value> params) = 0;
  absl::StatusOr<std::vector<Row>> Query(std::string_view sql, Params params = {}) {
    return Query(sql, std::span<const Value>(params.begin(), params.size()));
  }

  // The first row, or std::nullopt when there is none.
  absl::StatusOr<std::optional<Row>> QueryOptional(std::string_view sql, Params params = {});

  // Runs several `;`-separated statements without parameters (schema migrations).
  virtual absl::Status ExecuteScript(std::string_view sql) = 0;
};

// Fencing for leader election (store/leadership.h). While a FenceScope lives on a
// thread, every Write() made on that thread first runs the fence's Check inside the
// transaction, and the write is refused (Check's error, Aborted) when it fails: a leader
// that stalled past its lease and was replaced cannot act on stale authority, because
// the check reads the current term in the same serialised transaction that would write.
class Fence {
 public:
  virtual ~Fence() = default;
  virtual absl::Status Check(Transaction& tx) const = 0;
};

class FenceScope {
 public:
  explicit FenceScope(const Fence& fence);
  ~FenceScope();
  FenceScope(const FenceScope&) = delete;
  FenceScope& operator=(const FenceScope&) = delete;

  // The fence of this thread's innermost scope, or null.
  static const Fence* Current();

 private:
  const Fence* previous_;
};

class MetadataStore {
 public:
  using TransactionFn = std::function<absl::Status(Transaction&)>;

  virtual ~MetadataStore() = default;

  virtual Dialect dialect() const = 0;

  // Runs `fn` in one read-write transaction: committed when `fn` returns OK, rolled
  // back (nothing of it visible, ever) when it returns an error, which is returned.
  // Writers are serialised; Unavailable if the store stays locked by another process
  // past the busy timeout. Under a FenceScope, the fence is checked first (above).
  absl::Status Write(const TransactionFn& fn);

  // Runs `fn` in a read-only transaction that sees one consistent snapshot. Readers
  // do not block writers or each other. Writing inside it fails (PermissionDenied).
  virtual absl::Status Read(const TransactionFn& fn) = 0;

  // Checks the engine's own structures (pages, indexes). DataLoss listing what is
  // wrong when damaged.
  virtual absl::Status CheckIntegrity() = 0;

 protected:
  // The engine's read-write transaction, as Write() describes it.
  virtual absl::Status WriteTransaction(const TransactionFn& fn) = 0;
};

using MetadataStorePtr = std::unique_ptr<MetadataStore>;

}  // namespace ferry::store
