#include "core/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>

#include "core/status.h"
#include "core/strings.h"
#include "core/yaml_fields.h"

namespace ferry::core {
namespace {

absl::Status Bad(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(Cat("config.yaml: ", key, ": ", what));
}

absl::Status CheckKeys(const YAML::Node& map, std::string_view prefix,
                       const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.contains(key)) {
      return Bad(Cat(prefix, key), "unknown key");
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ReadScalar(const YAML::Node& map, const char* key, std::string_view full_key,
                        std::string_view type_name, T& out) {
  YAML::Node node = map[key];
  if (!node) return absl::OkStatus();
  if (!node.IsScalar()) return Bad(full_key, Cat("expected ", type_name));
  try {
    out = node.as<T>();
  } catch (const YAML::Exception&) {
    return Bad(full_key, Cat("expected ", type_name, ", got \"", node.Scalar(), "\""));
  }
  return absl::OkStatus();
}

// An integer within [min, max] at `section`.`key`, if given.
absl::Status ReadBounded(const YAML::Node& map, std::string_view section, const char* key, int min,
                         int max, int& out) {
  const std::string full = Cat(section, ".", key);
  RETURN_IF_ERROR(ReadScalar(map, key, full, "an integer", out));
  if (out < min || out > max) return Bad(full, Cat("expected ", min, "..", max));
  return absl::OkStatus();
}

absl::Status ParseAlerts(const YAML::Node& alerts, AlertsConfig& a) {
  if (!alerts.IsMap()) return Bad("alerts", "expected a mapping");
  RETURN_IF_ERROR(CheckKeys(
      alerts, "alerts.",
      {"evaluation_interval_ms", "webhook_attempts", "webhook_backoff_ms", "webhook_timeout_ms"}));
  RETURN_IF_ERROR(ReadBounded(alerts, "alerts", "evaluation_interval_ms", 10, 86'400'000,
                              a.evaluation_interval_ms));
  RETURN_IF_ERROR(ReadBounded(alerts, "alerts", "webhook_attempts", 1, 20, a.webhook_attempts));
  RETURN_IF_ERROR(
      ReadBounded(alerts, "alerts", "webhook_backoff_ms", 1, 600'000, a.webhook_backoff_ms));
  return ReadBounded(alerts, "alerts", "webhook_timeout_ms", 100, 600'000, a.webhook_timeout_ms);
}

absl::Status ParsePipelines(const YAML::Node& pipelines, PipelinesConfig& p) {
  if (!pipelines.IsMap()) return Bad("pipelines", "expected a mapping");
  RETURN_IF_ERROR(CheckKeys(pipelines, "pipelines.", {"enabled", "trigger_interval_ms"}));
  RETURN_IF_ERROR(
      ReadScalar(pipelines, "enabled", "pipelines.enabled", "true or false", p.enabled));
  return ReadBounded(pipelines, "pipelines", "trigger_interval_ms", 10, 3'600'000,
                     p.trigger_interval_ms);
}

// `url` as error messages may echo it: without the user info before '@' and without the
// query, either of which may hold a password.
std::string UrlForMessages(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::string_view rest = url.substr(start);
  rest = rest.substr(0, rest.find('?'));
  const size_t at = rest.substr(0, rest.find('/')).rfind('@');
  if (at == std::string_view::npos) return std::string(url.substr(0, start)) + std::string(rest);
  return Cat(url.substr(0, start), "...@", rest.substr(at + 1));
}

// True when a URL query ("a=1&password=x") sets `key`, percent-escapes decoded as libpq
// decodes them ("%70assword").
bool QuerySets(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::string_view raw = pair.substr(0, pair.find('='));
    std::string name;
    for (size_t i = 0; i < raw.size(); ++i) {
      const int hi = raw[i] == '%' && i + 2 < raw.size() ? HexDigitValue(raw[i + 1]) : -1;
      const int lo = hi >= 0 ? HexDigitValue(raw[i + 2]) : -1;
      if (lo >= 0) {
        name.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
      } else {
        name.push_back(raw[i]);
      }
    }
    if (name == key) return true;
  }
  return false;
}

// "sqlite" or a libpq URL without a password: config.yaml is not a secret store, and
// the URL is shown (GET /api/v1/workspace, logs). The password comes from PGPASSWORD or
// a pgpass file, as every libpq program takes it.
absl::Status CheckMetadata(std::string_view metadata) {
  if (metadata == "sqlite") return absl::OkStatus();
  std::string_view rest = metadata;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (rest.starts_with(scheme)) {
      rest.remove_prefix(scheme.size());
      break;
    }
  }
  if (rest.size() == metadata.size()) {
    return Bad("metadata", Cat("\"", UrlForMessages(metadata),
                               "\" is neither \"sqlite\" nor postgresql://[USER@]HOST[:PORT]/DB"));
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  const size_t at = authority.rfind('@');
  const bool password_in_user =
      at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
  const size_t query = rest.find('?');
  const bool password_in_query =
      query != std::string_view::npos && QuerySets(rest.substr(query + 1), "password");
  if (password_in_user || password_in_query) {
    return Bad("metadata",
               "the PostgreSQL URL holds a password; give it in PGPASSWORD or a pgpass file"
               " instead (config.yaml is not a secret store)");
  }
  if (authority.empty() && rest.find("host=") == std::string_view::npos) {
    return Bad("metadata", "the PostgreSQL URL names no host");
  }
  return absl::OkStatus();
}

absl::StatusOr<WorkspaceConfig> ParseNode(const YAML::Node& root) {
  WorkspaceConfig config;
  if (!root || root.IsNull()) return config;
  if (!root.IsMap()) return Bad("(top level)", "expected a mapping");
  RETURN_IF_ERROR(CheckKeys(
      root, "",
      {"version", "metadata", "online_store", "log", "server", "serving", "alerts", "pipelines"}));
  RETURN_IF_ERROR(ReadScalar(root, "version", "version", "an integer", config.version));
  if (config.version != 1) return Bad("version", "only version 1 is known to this ferry");
  RETURN_IF_ERROR(ReadScalar(root, "metadata", "metadata", "a string", config.metadata));
  RETURN_IF_ERROR(CheckMetadata(config.metadata));
  RETURN_IF_ERROR(
      ReadScalar(root, "online_store", "online_store", "a string", config.online_store));
  if (config.online_store != "rocksdb") {
    constexpr std::string_view kRedis = "redis://";
    // Refused before it can reach a message: the URL is shown (logs, errors, the API).
    if (config.online_store.find('@') != std::string::npos) {
      return Bad("online_store",
                 "the Redis URL holds credentials; the online store takes redis://HOST:PORT only"
                 " (config.yaml is not a secret store)");
    }
    if (!std::string_view(config.online_store).starts_with(kRedis) ||
        !ParseHostPort(std::string_view(config.online_store).substr(kRedis.size())).ok()) {
      return Bad("online_store", Cat("\"", UrlForMessages(config.online_store),
                                     "\" is neither \"rocksdb\" nor redis://HOST:PORT"));
    }
  }
  if (YAML::Node log = root["log"]) {
    if (!log.IsMap()) return Bad("log", "expected a mapping");
    RETURN_IF_ERROR(CheckKeys(log, "log.", {"level"}));
    RETURN_IF_ERROR(ReadScalar(log, "level", "log.level", "a string", config.log_level));
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!kLevels.contains(config.log_level)) {
      return Bad("log.level", "expected one of trace, debug, info, warn, error, off");
    }
  }
  if (YAML::Node server = root["server"]) {
    if (!server.IsMap()) return Bad("server", "expected a mapping");
    ServerConfig& s = config.server;
    RETURN_IF_ERROR(
        CheckKeys(server, "server.",
                  {"listen", "threads", "max_body_bytes", "max_upload_bytes", "max_header_bytes",
                   "request_timeout_ms", "idle_timeout_ms", "shutdown_grace_ms", "access_log",
                   "max_connections", "auth", "rate_limit_per_second", "rate_limit_burst",
                   "tls_cert", "tls_key", "audit_log_file"}));
    RETURN_IF_ERROR(ReadScalar(server, "listen", "server.listen", "HOST:PORT", s.listen));
    if (auto hp = ParseHostPort(s.listen); !hp.ok()) {
      return Bad("server.listen", std::string(hp.status().message()));
    }
    RETURN_IF_ERROR(ReadScalar(server, "threads", "server.threads", "an integer", s.threads));
    if (s.threads < 0 || s.threads > 256) return Bad("server.threads", "expected 0..256");
    RETURN_IF_ERROR(ReadScalar(server, "max_body_bytes", "server.max_body_bytes", "an integer",
                               s.max_body_bytes));
    RETURN_IF_ERROR(ReadScalar(server, "max_upload_bytes", "server.max_upload_bytes", "an integer",
                               s.max_upload_bytes));
    if (s.max_upload_bytes == 0) return Bad("server.max_upload_bytes", "expected > 0");
    RETURN_IF_ERROR(ReadScalar(server, "max_header_bytes", "server.max_header_bytes", "an integer",
                               s.max_header_bytes));
    if (s.max_header_bytes < 1024) return Bad("server.max_header_bytes", "expected >= 1024");
    RETURN_IF_ERROR(ReadScalar(server, "request_timeout_ms", "server.request_timeout_ms",
                               "an integer", s.request_timeout_ms));
    RETURN_IF_ERROR(ReadScalar(server, "idle_timeout_ms", "server.idle_timeout_ms", "an integer",
                               s.idle_timeout_ms));
    RETURN_IF_ERROR(ReadScalar(server, "shutdown_grace_ms", "server.shutdown_grace_ms",
                               "an integer", s.shutdown_grace_ms));
    if (s.request_timeout_ms <= 0 || s.idle_timeout_ms <= 0 || s.shutdown_grace_ms < 0) {
      return Bad("server", "timeouts must be positive");
    }
    RETURN_IF_ERROR(
        ReadScalar(server, "access_log", "server.access_log", "true or false", s.access_log));
    RETURN_IF_ERROR(ReadScalar(server, "max_connections", "server.max_connections", "an integer",
                               s.max_connections));
    if (s.max_connections < 1) return Bad("server.max_connections", "expected >= 1");
    RETURN_IF_ERROR(ReadScalar(server, "auth", "server.auth", "a string", s.auth));
    if (s.auth != "auto" && s.auth != "on" && s.auth != "off") {
      return Bad("server.auth", "expected auto, on or off");
    }
    RETURN_IF_ERROR(ReadScalar(server, "rate_limit_per_second", "server.rate_limit_per_second",
                               "a number", s.rate_limit_per_second));
    if (!(s.rate_limit_per_second >= 0) || s.rate_limit_per_second > 1e9) {
      return Bad("server.rate_limit_per_second", "expected 0 (no limit) up to 1e9");
    }
    RETURN_IF_ERROR(ReadScalar(server, "rate_limit_burst", "server.rate_limit_burst",
                               "an integer", s.rate_limit_burst));
    if (s.rate_limit_burst < 0) return Bad("server.rate_limit_burst", "expected >= 0");
    RETURN_IF_ERROR(ReadScalar(server, "tls_cert", "server.tls_cert", "a path", s.tls_cert));
    RETURN_IF_ERROR(ReadScalar(server, "tls_key", "server.tls_key", "a path", s.tls_key));
    if (s.tls_cert.empty() != s.tls_key.empty()) {
      return Bad("server", "tls_cert and tls_key go together: give both or neither");
    }
    RETURN_IF_ERROR(ReadScalar(server, "audit_log_file", "server.audit_log_file", "a path",
                               s.audit_log_file));
  }
  if (YAML::Node serving = root["serving"]) {
    if (!serving.IsMap()) return Bad("serving", "expected a mapping");
    ServingConfig& s = config.serving;
    RETURN_IF_ERROR(CheckKeys(
        serving, "serving.",
        {"max_batch_rows", "poll_interval_ms", "prediction_log_sample_rate", "prediction_log_queue",
         "prediction_log_retention_days", "batching_max_delay_us", "batching_max_rows", "evaluator",
         "rollout_tick_ms", "monitoring", "monitoring_max_rows_per_second"}));
    const auto read_int = [&](const char* key, int& out, int min, int max) -> absl::Status {
      const std::string full = Cat("serving.", key);
      RETURN_IF_ERROR(ReadScalar(serving, key, full, "an integer", out));
      if (out < min || out > max) return Bad(full, Cat("expected ", min, "..", max));
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(read_int("max_batch_rows", s.max_batch_rows, 1, 1'000'000));
    RETURN_IF_ERROR(read_int("poll_interval_ms", s.poll_interval_ms, 10, 60'000));
    RETURN_IF_ERROR(read_int("prediction_log_queue", s.prediction_log_queue, 1, 10'000'000));
    RETURN_IF_ERROR(
        read_int("prediction_log_retention_days", s.prediction_log_retention_days, 1, 3650));
    RETURN_IF_ERROR(read_int("batching_max_delay_us", s.batching_max_delay_us, 0, 1'000'000));
    RETURN_IF_ERROR(read_int("batching_max_rows", s.batching_max_rows, 1, 100'000));
    RETURN_IF_ERROR(read_int("rollout_tick_ms", s.rollout_tick_ms, 10, 60'000));
    RETURN_IF_ERROR(
        ReadScalar(serving, "monitoring", "serving.monitoring", "true or false", s.monitoring));
    RETURN_IF_ERROR(read_int("monitoring_max_rows_per_second", s.monitoring_max_rows_per_second, 0,
                             100'000'000));
    RETURN_IF_ERROR(ReadScalar(serving, "prediction_log_sample_rate",
                               "serving.prediction_log_sample_rate", "a number",
                               s.prediction_log_sample_rate));
    if (!(s.prediction_log_sample_rate >= 0 && s.prediction_log_sample_rate <= 1)) {
      return Bad("serving.prediction_log_sample_rate", "expected 0..1");
    }
    RETURN_IF_ERROR(ReadScalar(serving, "evaluator", "serving.evaluator", "a string", s.evaluator));
    if (s.evaluator != "auto" && s.evaluator != "libxgboost" && s.evaluator != "native") {
      return Bad("serving.evaluator", "expected auto, libxgboost or native");
    }
  }
  if (YAML::Node alerts = root["alerts"]) RETURN_IF_ERROR(ParseAlerts(alerts, config.alerts));
  if (YAML::Node pipelines = root["pipelines"]) {
    RETURN_IF_ERROR(ParsePipelines(pipelines, config.pipelines));
  }
  return config;
}

}  // namespace

absl::StatusOr<WorkspaceConfig> WorkspaceConfig::Parse(std::string_view yaml) {
  RETURN_IF_ERROR(CheckYamlUtf8(yaml, "config.yaml"));
  // yaml-cpp reports errors by throwing; they stop here.
  try {
    return ParseNode(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat("config.yaml: ", e.what()));
  }
}

std::string WorkspaceConfig::ToYaml() const {
  return fmt::format(
      "# ferry workspace configuration (see README.md, \"Configuration reference\")\n"
      "version: {}\n"
      "# where metadata lives: sqlite (embedded, .ferry/metadata.db) or\n"
      "# postgresql://USER@HOST:PORT/DB (password from PGPASSWORD or a pgpass file)\n"
      "metadata: {}\n"
      "# the online feature store: rocksdb (embedded, .ferry/online/) or redis://HOST:PORT\n"
      "online_store: {}\n"
      "log:\n"
      "  level: {}\n"
      "server:\n"
      "  listen: \"{}\"\n"
      "  threads: {}            # 0 = one per core\n"
      "  max_body_bytes: {}\n"
      "  max_upload_bytes: {}      # streamed dataset uploads\n"
      "  max_header_bytes: {}\n"
      "  request_timeout_ms: {}\n"
      "  idle_timeout_ms: {}\n"
      "  shutdown_grace_ms: {}\n"
      "  access_log: {}\n"
      "  max_connections: {}\n"
      "  auth: {}                # auto (tokens required off loopback), on or off\n"
      "  rate_limit_per_second: {}   # per token (per client when no token); 0 = none\n"
      "  rate_limit_burst: {}        # 0 = one second's worth\n"
      "  tls_cert: \"{}\"            # PEM files for HTTPS (TLS 1.2+); both or neither\n"
      "  tls_key: \"{}\"\n"
      "  audit_log_file: \"{}\"      # also append the audit log here (JSON lines)\n"
      "serving:\n"
      "  max_batch_rows: {}        # rows per inference request (413 beyond)\n"
      "  poll_interval_ms: {}        # how soon deployments and alias moves are seen\n"
      "  prediction_log_sample_rate: {}   # share of predictions logged (feedback joins them)\n"
      "  prediction_log_queue: {}\n"
      "  prediction_log_retention_days: {}\n"
      "  batching_max_delay_us: {}     # adaptive batching; 0 = off\n"
      "  batching_max_rows: {}\n"
      "  evaluator: {}           # auto, libxgboost or native\n"
      "  rollout_tick_ms: {}     # how often due rollout analyses are looked for\n"
      "  monitoring: {}          # drift, data quality and live quality of served models\n"
      "  monitoring_max_rows_per_second: {}   # rows each model's monitor takes; 0 = all\n"
      "alerts:\n"
      "  evaluation_interval_ms: {}   # alert rules are evaluated this often\n"
      "  webhook_attempts: {}           # webhook actions: tries, first retry after\n"
      "  webhook_backoff_ms: {}       # backoff_ms (doubled each time), each try at most\n"
      "  webhook_timeout_ms: {}      # timeout_ms\n"
      "pipelines:\n"
      "  enabled: {}              # ferry server runs applied pipelines' triggers\n"
      "  trigger_interval_ms: {}   # how often schedules, datasets and alerts are checked\n",
      version, metadata, online_store, log_level, server.listen, server.threads,
      server.max_body_bytes, server.max_upload_bytes, server.max_header_bytes,
      server.request_timeout_ms, server.idle_timeout_ms, server.shutdown_grace_ms,
      server.access_log ? "true" : "false", server.max_connections, server.auth,
      server.rate_limit_per_second, server.rate_limit_burst, server.tls_cert, server.tls_key,
      server.audit_log_file, serving.max_batch_rows, serving.poll_interval_ms,
      serving.prediction_log_sample_rate, serving.prediction_log_queue,
      serving.prediction_log_retention_days, serving.batching_max_delay_us,
      serving.batching_max_rows, serving.evaluator, serving.rollout_tick_ms,
      serving.monitoring ? "true" : "false", serving.monitoring_max_rows_per_second,
      alerts.evaluation_interval_ms, alerts.webhook_attempts, alerts.webhook_backoff_ms,
      alerts.webhook_timeout_ms, pipelines.enabled ? "true" : "false",
      pipelines.trigger_interval_ms);
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(Cat("expected [HOST]:PORT, got \"", text, "\""));
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(Cat("expected HOST:PORT, got \"", text, "\""));
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    return absl::InvalidArgumentError(Cat("bad port in \"", text, "\""));
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace ferry::core
