// Every call to ferry's HTTP API goes through here: the API token (kept in
// sessionStorage, sent as a Bearer header, never in a URL or a log) and the errors the
// pages show.

const TOKEN_KEY = 'ferry.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type AuthListener = (status: number) => void;
const authListeners = new Set<AuthListener>();

// Called with 401 when the API asks for a token (none, or a revoked one).
export function onAuthRequired(listener: AuthListener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function request<T>(method: string, path: string, body?: unknown, asText = false): Promise<T> {
  const headers: Record<string, string> = { Accept: asText ? 'text/plain, */*' : 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'the server did not answer (is ferry server running?)');
  }
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const message =
      (json && json.error && (json.error.message ?? json.error)) ||
      `${response.status} ${response.statusText}`;
    if (response.status === 401) authListeners.forEach((l) => l(401));
    throw new ApiError(response.status, String(message));
  }
  return (asText ? text : json) as T;
}

export const apiGet = <T>(path: string) => request<T>('GET', path);
// An answer that is not JSON (the alert rules' YAML source).
export const apiGetText = (path: string) => request<string>('GET', path, undefined, true);
export const apiPost = <T>(path: string, body: unknown) => request<T>('POST', path, body);

export const enc = encodeURIComponent;

// --- The shapes the pages read (a subset of each answer). -------------------------

export interface Workspace {
  workspace_id: string;
  created_at: string;
  ferry_version: string;
  metadata: string;
  online_store: string;
}

export interface LatencySeconds {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface Traffic {
  requests: number;
  rows: number;
  failed: number;
  error_rate: number | null;
  throughput: { requests_per_second: number; rows_per_second: number } | null;
  latency_seconds: LatencySeconds | null;
  window: { duration?: string; rows?: number; from: string; to: string };
}

export interface Endpoint {
  endpoint: string;
  state: string;
  reason: string;
  model: string;
  version: number | null; // null: serving nothing
  target_version?: number | null;
  traffic?: Traffic;
  updated_at?: string;
  updated_by?: string;
  loaded_at?: string;
  platform?: string;
  rollout?: { id: number; kind: string; candidate_version: number; weight: number } | null;
}

export interface FeatureDrift {
  name: string;
  drifted: boolean | null;
  method: string;
  statistic: number | null;
  threshold: number;
  p_value?: number | null;
  live_rows?: number;
  reference_rows?: number;
  note?: string;
}

export interface FeatureQuality {
  name: string;
  present: number;
  missing: number;
  missing_rate: number;
  out_of_range_rate: number | null;
  unseen_rate: number | null;
  mean: number | null;
  std: number | null;
  reference_mean: number | null;
  reference_std: number | null;
  reference_missing_rate: number | null;
}

// A monitored column's reference and live distributions (monitoring?distributions=true).
export interface ColumnDistribution {
  name: string;
  kind: 'numeric' | 'categorical' | null;
  reference_rows: number;
  live_rows: number;
  live_missing: number;
  edges?: number[];
  reference_shares?: number[];
  live_counts?: number[];
  live_below?: number;
  live_above?: number;
  categories?: number[];
  reference_counts?: number[];
  live_unseen?: number;
}

export interface ModelMonitoring {
  model: string;
  version: number;
  role: string;
  drift: {
    features: FeatureDrift[];
    features_drifted: number;
    features_with_verdict: number;
    dataset_drift: boolean | null;
    drifted_share?: number | null;
    prediction?: FeatureDrift | null;
    data_quality?: FeatureQuality[];
  };
  quality?: {
    labeled: number;
    metrics: Record<string, MetricValue>;
    note?: string;
    label_delay_seconds?: { p50: number | null; p95: number | null; max: number | null };
  };
  reference?: { dataset?: string };
  requests?: number;
  rows?: number;
  monitored_rows?: number;
  unmonitored_rows?: number;
  latency_seconds?: LatencySeconds | null;
  throughput?: Traffic['throughput'];
  window?: Traffic['window'];
  distributions?: ColumnDistribution[];
}

export interface Monitoring {
  endpoint: string;
  models: ModelMonitoring[];
}

export interface Alert {
  labels: Record<string, string>;
  state: string;
  active_since?: string;
  fired_at?: string;
  value?: number;
  annotations?: Record<string, string>;
}

export interface AlertRule {
  name: string;
  group: string;
  severity: string;
  state: string;
  annotations?: Record<string, string>;
  alerts: Alert[];
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  actions?: { type: string; name?: string; url?: string }[];
}

export interface AlertHistoryEntry {
  id: number;
  rule: string;
  labels: Record<string, string>;
  from: string;
  to: string;
  at: string | null;
  value: MetricValue | null;
  annotations?: Record<string, string>;
}

export interface RolloutCheck {
  name: string;
  outcome: string;
  value: number | null;
  threshold: number;
  detail: string;
}

export interface RolloutEvent {
  rollout_id: number;
  seq: number;
  at: string;
  type: string;
  phase: string;
  weight: number;
  reason: string;
  actor: string;
  figures: { decision?: string; failures?: number; failure_limit?: number; checks?: RolloutCheck[] } & Record<
    string,
    unknown
  >;
}

export interface Rollout {
  id: number;
  endpoint: string;
  kind: string;
  model: string;
  stable_version: number;
  candidate_version: number;
  phase: string;
  step: number;
  steps: number;
  weight: number;
  failures: number;
  step_started_at: string;
  last_analysis_at: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  previous_version: number | null;
  policy: Record<string, unknown>;
  events: RolloutEvent[];
}

export interface Experiment {
  experiment_id: number;
  name: string;
  runs: number;
}

export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity';

export interface RunInfo {
  run_id: string;
  experiment: string;
  name: string;
  status: string;
  start_time: string;
  end_time?: string | null;
  user?: string;
}

export interface Run {
  info: RunInfo;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, { value: MetricValue; step: number; timestamp: number }>;
  metric_points?: Record<string, number>;
  inputs?: { dataset_version: string; role: string; content_sha256: string }[];
  artifacts?: { path: string; digest: string; size: number; created_at: string }[];
}

export interface RunPage {
  runs: Run[];
  next_page_token: string | null;
}

export interface MetricSeries {
  key: string;
  points: { value: MetricValue; step: number; timestamp: number }[];
}

export interface ColumnSchema {
  name: string;
  type: string;
}

export interface DatasetVersion {
  dataset: string;
  version: number;
  ref: string;
  tags: string[];
  rows: number;
  size: number;
  new_bytes: number;
  message: string;
  created_at: string;
  content_sha256: string;
  format: string;
  parent: number | null;
  schema: ColumnSchema[];
}

export interface Dataset {
  name: string;
  versions: number;
  latest: DatasetVersion;
}

export interface ColumnProfile {
  name: string;
  type: string;
  count: number;
  null_count: number;
  null_rate: number;
  distinct: number;
  distinct_exact: boolean;
  min?: number;
  max?: number;
  mean?: number;
  stddev?: number;
  quantiles?: Record<string, number>;
  histogram?: { counts: number[]; edges: number[] };
  top_values?: { value: string; count: number }[];
  length?: { min: number; max: number; mean: number };
}

export interface DatasetProfile {
  // null: the version has no profile (an opaque file, not a table).
  profile: { row_count: number; bad_row_count: number; columns: ColumnProfile[] } | null;
  version: DatasetVersion;
}

export interface LineageLink {
  id: string;
  kind: string;
  relation: string;
}

export interface DatasetLineage {
  version: string;
  made_from: LineageLink[];
  used_by: LineageLink[];
}

export interface DatasetDiff {
  before: string;
  after: string;
  new_bytes: number;
  shared_bytes: number;
  // null: either side has no profile (an opaque file).
  profile: {
    rows: { before: number; after: number };
    added_columns: ColumnSchema[];
    removed_columns: ColumnSchema[];
    type_changes: { column: string; before: string; after: string }[];
    changes: { column: string; statistic: string; before: number; after: number }[];
  } | null;
}

export interface ModelSummary {
  name: string;
  versions: number;
  latest_version: number | null; // null: no versions (all deleted)
  aliases: Record<string, number>;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface ModelVersion {
  name: string;
  version: number;
  ref: string;
  aliases: string[];
  status: string;
  run_id: string;
  flavor: string;
  created_at: string;
  created_by: string;
  description: string;
  artifact_digest: string;
  artifact_size: number;
  metrics: Record<string, MetricValue>;
  tags: Record<string, string>;
  num_features: number;
  reference?: { dataset_version: string; profile: string } | null;
  signature?: {
    feature_service?: string;
    inputs: { name: string; type: string }[];
    outputs: { name: string; type: string }[];
  };
}

export interface Model extends ModelSummary {
  model_versions: ModelVersion[];
  alias_history: {
    alias: string;
    version: number | null;
    previous_version: number | null;
    actor: string;
    reason: string;
    at: string;
  }[];
}

export interface LineageNode {
  id: string;
  kind: string;
  details: Record<string, string>;
}

export interface LineageGraph {
  root: { id: string; kind: string };
  direction: string;
  truncated: boolean;
  nodes: LineageNode[];
  edges: { from: { id: string; kind: string }; to: { id: string; kind: string }; relation: string }[];
}

export interface FeatureEntity {
  name: string;
  join_keys: { name: string; type: string }[];
  description: string;
}

export interface FeatureView {
  name: string;
  entities: string[];
  source: string;
  timestamp_field: string;
  features: { name: string; type: string }[];
  ttl_seconds: number;
  online: boolean;
  description: string;
  source_version?: string;
  newest_event?: string | null;
  freshness_seconds?: number | null;
  consumers?: { kind: string; id: string }[];
  last_materialization?: {
    materialized_at: string;
    window_start: string | null;
    window_end: string;
    source: string;
    rows_in_window: number;
    keys_written: number;
    keys_kept: number;
  } | null;
  status_error?: string;
}

export interface FeatureService {
  name: string;
  features: string[];
  description: string;
}

export interface FeatureDefinitions {
  entities: FeatureEntity[];
  feature_views: FeatureView[];
  feature_services: FeatureService[];
}

export interface PipelineStepRun {
  step: string;
  state: string;
  attempts: number;
  tracking_run: string;
  cached_from: string;
  note: string;
  error: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface PipelineRun {
  id: string;
  pipeline: string;
  number: number;
  state: string;
  trigger: string;
  trigger_detail: string;
  params: Record<string, string>;
  actor: string;
  tracking_run: string;
  created_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  error: string;
  steps: PipelineStepRun[];
}

export interface PipelineTrigger {
  kind: string;
  value: string;
}

export interface PipelineSummary {
  name: string;
  source: string;
  applied_at: string;
  applied_by: string;
  triggers: PipelineTrigger[];
  last_run: PipelineRun | null;
}

export interface PipelineStep {
  id: string;
  uses: string | null;
  run: string | null;
  inputs: Record<string, string>;
  outputs: string[] | Record<string, unknown>;
  depends_on: string[];
}

export interface Pipeline {
  name: string;
  description: string;
  source: string;
  applied_at: string;
  applied_by: string;
  params: Record<string, unknown>;
  triggers: PipelineTrigger[];
  steps: PipelineStep[];
}
