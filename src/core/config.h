#pragma once

// WorkspaceConfig: the contents of `.ferry/config.yaml`, the one configuration file
// of a workspace. Parsing is strict: an unknown key or a value of the wrong type is
// an InvalidArgument error naming the key, so a typo never silently falls back to a
// default. The full reference is in README.md ("Configuration reference").
//
// Thread-safety: a value type; copy freely.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::core {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int threads = 0;                        // 0: one per core
  uint64_t max_body_bytes = 64ull << 20;  // larger requests get 413
  // Streaming routes (uploads) take bodies up to this size instead (413 beyond); they
  // go to disk as they arrive, so this bounds disk use, not memory.
  uint64_t max_upload_bytes = 64ull << 30;
  uint64_t max_header_bytes = 64ull << 10;
  // Reading one request, headers and body; for a streamed upload, the most time
  // without the client sending anything.
  int request_timeout_ms = 30'000;
  int idle_timeout_ms = 60'000;    // keep-alive connection with no request
  int shutdown_grace_ms = 10'000;  // in-flight requests get this long on SIGTERM
  bool access_log = true;
  // Open connections at once (all threads); beyond, a new connection is answered 503
  // and closed.
  int max_connections = 10'000;
  // API tokens (docs/security.md): "auto" requires a token on every route but the health
  // probes when listening on a non-loopback address, and not on loopback; "on" always;
  // "off" never, which a non-loopback address refuses unless `--insecure-no-auth`.
  std::string auth = "auto";
  // Requests per second each token may make (each client address when unauthenticated),
  // in bursts of up to rate_limit_burst; beyond, 429 with Retry-After. 0: no limit.
  // A token's own limit (`ferry token create --rate-limit`) takes precedence.
  double rate_limit_per_second = 0;
  int rate_limit_burst = 0;  // 0: one second's worth
  // HTTPS: PEM certificate chain and private key; TLS 1.2 and 1.3 only. Both or neither.
  std::string tls_cert;
  std::string tls_key;
  // Every audited request is also appended to this JSON-lines file ("": only the
  // metadata store's audit log). Relative paths are from the workspace root.
  std::string audit_log_file;
};

// Model serving (`ferry server`'s inference endpoints).
struct ServingConfig {
  // Rows in one inference request; more get 413.
  int max_batch_rows = 10'000;
  // How often the server looks for new deployments and alias moves.
  int poll_interval_ms = 250;
  // Share of predictions kept in the prediction log (0 to 1): what feedback joins to.
  double prediction_log_sample_rate = 1.0;
  // Predictions waiting to be written; beyond it they are dropped (and counted),
  // never making a request wait.
  int prediction_log_queue = 100'000;
  // Logged predictions older than this are deleted.
  int prediction_log_retention_days = 7;
  // Adaptive batching: concurrent single-row requests of one endpoint wait up to this
  // long to share one model call. 0 turns it off (the default: see bench/RESULTS.md).
  int batching_max_delay_us = 0;
  int batching_max_rows = 64;
  // Which evaluator serves XGBoost models: "auto" (ferry's tree walker when it matches
  // libxgboost on the load-time check, else libxgboost), "libxgboost", "native".
  std::string evaluator = "auto";
  // How often (real time) the rollout controller looks for analyses that are due; the
  // analysis interval itself is the rollout policy's, by the workspace clock.
  int rollout_tick_ms = 1000;
  // Monitor served models (drift, data quality, latency windows, live quality). Off, the
  // monitoring API and metric families report nothing.
  bool monitoring = true;
  // Rows per second that each served model version's drift monitor takes at most; the
  // rest are counted but not monitored, which bounds monitoring's cost at any traffic.
  // 0: every row.
  int monitoring_max_rows_per_second = 5000;
};

// Alerting (`ferry server` evaluates the rules of `ferry alerts apply`; docs/alerts.md).
struct AlertsConfig {
  // How often (real time) the server evaluates; also the interval of rule groups that
  // set none, measured on the workspace clock.
  int evaluation_interval_ms = 15'000;
  // Webhook actions: tries per notification, the wait before the first retry (doubled
  // each time), and the time one try may take.
  int webhook_attempts = 5;
  int webhook_backoff_ms = 500;
  int webhook_timeout_ms = 5'000;
};

// Training pipelines' triggers (`ferry server` runs those of `ferry pipeline apply`;
// docs/pipelines.md).
struct PipelinesConfig {
  // Off, the server starts no pipeline run by itself (the HTTP API still can).
  bool enabled = true;
  // How often (real time) schedules, datasets and alerts are checked and stale runs
  // looked for.
  int trigger_interval_ms = 1000;
};

struct WorkspaceConfig {
  int version = 1;
  // "sqlite" (the embedded default, `.ferry/metadata.db`) or a PostgreSQL URL
  // "postgresql://USER@HOST:PORT/DB" (no password: PGPASSWORD or a pgpass file).
  std::string metadata = "sqlite";
  // "rocksdb" (the embedded default, `.ferry/online/`) or "redis://HOST:PORT" (a Redis
  // server several ferry servers share).
  std::string online_store = "rocksdb";
  std::string log_level = "info";
  ServerConfig server;
  ServingConfig serving;
  AlertsConfig alerts;
  PipelinesConfig pipelines;

  // InvalidArgument naming the key (e.g. "config.yaml: server.threads: expected an
  // integer") when the YAML is malformed or a value is out of range.
  static absl::StatusOr<WorkspaceConfig> Parse(std::string_view yaml);
  // A commented YAML document that Parse reads back to an equal config.
  std::string ToYaml() const;
};

// Splits "HOST:PORT" ("[::1]:8080" for IPv6); InvalidArgument when malformed.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

}  // namespace ferry::core
