#include "dataset/dataset_ref.h"

#include <charconv>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::dataset {
namespace {

constexpr size_t kMaxNameLength = 128;

absl::Status ValidateIdentifier(std::string_view kind, std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError(core::Cat(kind, " is empty"));
  if (text.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        core::Cat(kind, " is longer than ", kMaxNameLength, " characters"));
  }
  auto is_alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!is_alnum(text.front())) {
    return absl::InvalidArgumentError(
        core::Cat(kind, " \"", text, "\" must start with a letter or digit"));
  }
  for (char c : text) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(core::Cat(
          kind, " \"", text, "\" may only contain letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

bool AllDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

absl::Status ValidateDatasetName(std::string_view name) {
  return ValidateIdentifier("dataset name", name);
}

absl::Status ValidateTagName(std::string_view tag) {
  RETURN_IF_ERROR(ValidateIdentifier("tag", tag));
  if (AllDigits(tag)) {
    return absl::InvalidArgumentError(
        core::Cat("tag \"", tag, "\" is all digits, which would read as a version number"));
  }
  if (tag == "latest") return absl::InvalidArgumentError("\"latest\" is reserved");
  return absl::OkStatus();
}

absl::StatusOr<DatasetRef> ParseDatasetRef(std::string_view text) {
  DatasetRef ref;
  const size_t at = text.find('@');
  std::string_view name = text.substr(0, at);
  RETURN_IF_ERROR(ValidateDatasetName(name));
  ref.name = std::string(name);
  if (at == std::string_view::npos) return ref;
  std::string_view selector = text.substr(at + 1);
  if (selector.empty()) {
    return absl::InvalidArgumentError(
        core::Cat("\"", text, "\": expected a version or tag after '@'"));
  }
  if (selector == "latest") return ref;
  if (AllDigits(selector)) {
    int64_t version = 0;
    auto [ptr, ec] = std::from_chars(selector.data(), selector.data() + selector.size(), version);
    if (ec != std::errc() || version <= 0) {
      return absl::InvalidArgumentError(
          core::Cat("\"", text, "\": versions are numbered from 1"));
    }
    ref.version = version;
    return ref;
  }
  RETURN_IF_ERROR(ValidateTagName(selector));
  ref.tag = std::string(selector);
  return ref;
}

std::string DatasetRef::ToString() const {
  if (version) return core::Cat(name, "@", *version);
  if (tag) return core::Cat(name, "@", *tag);
  return name;
}

}  // namespace ferry::dataset
