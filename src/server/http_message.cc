#include "server/http_message.h"

#include <nlohmann/json.hpp>

#include "core/error_mapping.h"
#include "core/strings.h"

namespace ferry::server {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      break;
  }
  return "OTHER";
}

bool IsMutating(Method method) {
  return method == Method::kPost || method == Method::kPut || method == Method::kPatch ||
         method == Method::kDelete;
}

Request Request::Make(Method method, std::string_view target, std::string body) {
  Request request;
  request.SetMethod(method, MethodName(method));
  request.SetTarget(target);
  request.content_length_ = body.size();
  request.body_ = std::move(body);
  return request;
}

std::string_view Request::query() const {
  if (path_size_ >= target_.size()) return {};
  return std::string_view(target_).substr(path_size_ + 1);
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (size_t i = 0; i < field_count_; ++i) {
    if (EqualsIgnoreCase(fields_[i].name, name)) return fields_[i].value;
  }
  return std::nullopt;
}

std::string_view Request::PathParam(std::string_view name) const {
  for (size_t i = 0; i < param_count_; ++i) {
    if (params_[i].name == name) return params_[i].value;
  }
  return {};
}

void Request::Reset() {
  method_ = Method::kGet;
  method_name_.assign("GET");
  http_version_ = 11;
  target_.clear();
  path_size_ = 0;
  content_length_.reset();
  field_count_ = 0;
  param_count_ = 0;
  body_.clear();
  route_pattern_ = {};
  principal_.clear();
}

void Request::SetMethod(Method method, std::string_view name) {
  method_ = method;
  method_name_.assign(name);
}

void Request::SetTarget(std::string_view target) {
  target_.assign(target);
  size_t question = target_.find('?');
  path_size_ = question == std::string::npos ? target_.size() : question;
}

void Request::AddHeader(std::string_view name, std::string_view value) {
  if (field_count_ == fields_.size()) fields_.emplace_back();
  Field& field = fields_[field_count_++];
  field.name.assign(name);
  field.value.assign(value);
}

void Request::AddPathParam(std::string_view name, std::string_view value) {
  if (param_count_ == params_.size()) params_.emplace_back();
  Param& param = params_[param_count_++];
  param.name = name;
  param.value.assign(value);
}

Response JsonTextResponse(std::string json_text, int status) {
  Response response;
  response.status = status;
  response.body = std::move(json_text);
  return response;
}

Response JsonResponse(const nlohmann::json& value, int status) {
  return JsonTextResponse(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                          status);
}

Response ErrorResponse(int http_status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return JsonResponse(body, http_status);
}

Response ErrorResponse(const absl::Status& status) {
  if (status.ok()) return ErrorResponse(500, "internal", "an OK status used as an error");
  core::ErrorMapping mapping = core::MapStatusCode(status.code());
  return ErrorResponse(mapping.http_status, mapping.code, core::View(status.message()));
}

}  // namespace ferry::server
