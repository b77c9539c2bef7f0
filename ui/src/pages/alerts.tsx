// Alerts: the rules in force and their states (firing and pending first), each active
// alert's labels and value, the rules' YAML source, and the history of state changes.
import {
  apiGet,
  apiGetText,
  ApiError,
  type Alert,
  type AlertHistoryEntry,
  type AlertRule,
  type MetricValue,
} from '../api';
import type { ComponentChildren } from 'preact';
import { Freshness } from '../app';
import { fmtMetric, fmtTime } from '../format';
import { usePoll } from '../poll';
import { endpointLink } from './deployments';

interface AlertsData {
  rules: AlertRule[];
  ruleSet: { applied_at: string; applied_by: string; digest: string } | null;
  history: AlertHistoryEntry[];
  source: string | null; // null: no rules applied (404)
}

const HISTORY_SHOWN = 200;

async function loadAlerts(): Promise<AlertsData> {
  const [status, history, source] = await Promise.all([
    apiGet<{ rules: AlertRule[]; rule_set: AlertsData['ruleSet'] }>('/api/v1/alerts'),
    apiGet<{ history: AlertHistoryEntry[] }>(`/api/v1/alerts/history?limit=${HISTORY_SHOWN}`),
    apiGetText('/api/v1/alerts/rules').catch((e) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }),
  ]);
  return { rules: status.rules, ruleSet: status.rule_set, history: history.history, source };
}

const STATE_ORDER: Record<string, number> = { firing: 0, pending: 1, inactive: 2 };

function stateBadge(state: string) {
  const cls = state === 'firing' ? 'bad' : state === 'pending' ? 'warn' : state === 'inactive' ? 'good' : 'neutral';
  return <span class={`badge ${cls}`}>{state}</span>;
}

// Labels as key=value, the endpoint's value linking to its deployment page.
function Labels({ labels }: { labels: Record<string, string> }) {
  const parts: ComponentChildren[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (k === 'alertname') continue;
    parts.push(
      <span class="label">
        {k}={k === 'endpoint' ? endpointLink(v) : v}
      </span>,
    );
  }
  return <span class="labels">{parts.length ? parts : <span class="muted">–</span>}</span>;
}

function fmtValue(v: MetricValue | null | undefined): string {
  return v === null || v === undefined ? '–' : fmtMetric(v);
}

export function AlertsPage() {
  const polled = usePoll(loadAlerts, []);
  const d = polled.data;
  const rules = [...(d?.rules ?? [])].sort(
    (a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) || a.name.localeCompare(b.name),
  );
  const history = [...(d?.history ?? [])].sort((a, b) => (b.at ?? '').localeCompare(a.at ?? '') || b.id - a.id);
  return (
    <section>
      <h1>Alerts</h1>
      <Freshness polled={polled} />
      {d && (
        <>
          <h2>Rules ({rules.length})</h2>
          {d.ruleSet && (
            <p class="muted">
              rule set applied {fmtTime(d.ruleSet.applied_at)} UTC by {d.ruleSet.applied_by} ·{' '}
              <code class="sha">{d.ruleSet.digest.slice(0, 12)}</code>
            </p>
          )}
          {rules.length === 0 ? (
            <p class="muted" data-testid="no-rules">
              No alert rules applied. Apply some with <code>ferry alerts apply FILE.yaml</code>.
            </p>
          ) : (
            <table class="data" data-testid="alert-rules">
              <thead>
                <tr>
                  <th>rule</th>
                  <th>state</th>
                  <th>severity</th>
                  <th>group</th>
                  <th>expression</th>
                  <th>for</th>
                  <th>actions</th>
                  <th>summary</th>
                </tr>
              </thead>
              <tbody>
                {rules.map((r) => (
                  <RuleRows rule={r} />
                ))}
              </tbody>
            </table>
          )}
          <h2>History, newest first ({history.length})</h2>
          {history.length === 0 ? (
            <p class="muted" data-testid="no-history">
              No alert has changed state yet.
            </p>
          ) : (
            <table class="data" data-testid="alert-history">
              <thead>
                <tr>
                  <th>when (UTC)</th>
                  <th>rule</th>
                  <th>change</th>
                  <th>labels</th>
                  <th class="num">value</th>
                  <th>summary</th>
                </tr>
              </thead>
              <tbody>
                {history.map((h) => (
                  <tr data-id={h.id}>
                    <td class="nowrap">{fmtTime(h.at)}</td>
                    <td>{h.rule}</td>
                    <td class="nowrap">
                      {stateBadge(h.from)} → {stateBadge(h.to)}
                    </td>
                    <td>
                      <Labels labels={h.labels} />
                    </td>
                    <td class="num">{fmtValue(h.value)}</td>
                    <td class="muted">{h.annotations?.summary ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {d.source !== null && (
            <details class="rules-source">
              <summary>Rules file as applied (YAML)</summary>
              <pre data-testid="rules-source">{d.source}</pre>
            </details>
          )}
        </>
      )}
    </section>
  );
}

function RuleRows({ rule }: { rule: AlertRule }) {
  const alerts: Alert[] = [...rule.alerts].sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3));
  return (
    <>
      <tr data-rule={rule.name} data-state={rule.state}>
        <td>
          <strong>{rule.name}</strong>
        </td>
        <td>{stateBadge(rule.state)}</td>
        <td>{rule.severity}</td>
        <td>{rule.group}</td>
        <td>
          <code class="expr">{rule.expr}</code>
        </td>
        <td class="nowrap">{rule.for}</td>
        <td>
          {(rule.actions ?? []).map((a) => `${a.type}${a.name ? ` ${a.name}` : ''}`).join(', ') || (
            <span class="muted">–</span>
          )}
        </td>
        <td class="muted">{rule.annotations?.summary ?? ''}</td>
      </tr>
      {alerts.map((a) => (
        <tr class="alert-instance" data-alert-of={rule.name}>
          <td />
          <td>{stateBadge(a.state)}</td>
          <td colSpan={3}>
            <Labels labels={a.labels} />
          </td>
          <td class="nowrap" colSpan={2}>
            {a.state === 'firing' ? `firing since ${fmtTime(a.fired_at)}` : `pending since ${fmtTime(a.active_since)}`}
          </td>
          <td>
            value <span class="num">{fmtValue(a.value)}</span> · {a.annotations?.summary ?? ''}
          </td>
        </tr>
      ))}
    </>
  );
}
