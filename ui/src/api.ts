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

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
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
  return json as T;
}

export const apiGet = <T>(path: string) => request<T>('GET', path);
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
  throughput: { requests_per_second: number; rows_per_second: number } | null;
  latency_seconds: LatencySeconds | null;
  window: { duration?: string; rows?: number; from: string; to: string };
}

export interface Endpoint {
  endpoint: string;
  state: string;
  reason: string;
  model: string;
  version: number;
  target_version?: number;
  traffic?: Traffic;
}

export interface FeatureDrift {
  name: string;
  drifted: boolean | null;
  method: string;
  statistic: number | null;
  threshold: number;
  note?: string;
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
  };
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
