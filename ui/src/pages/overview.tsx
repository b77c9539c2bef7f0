// Overview: every endpoint with its live traffic, latency and drift, the alerts firing,
// and a chart of throughput and p99 latency built from the polls of this tab.
import { apiGet, enc, type AlertRule, type Endpoint, type Monitoring } from '../api';
import { Freshness } from '../app';
import { Chart } from '../chart';
import { fmtInt, fmtMillis, fmtNumber, fmtTime, fmtWindow } from '../format';
import { usePoll } from '../poll';

interface OverviewData {
  endpoints: Endpoint[];
  monitoring: Record<string, Monitoring | { error: string }>;
  rules: AlertRule[];
}

async function loadOverview(): Promise<OverviewData> {
  const [endpoints, alerts] = await Promise.all([
    apiGet<{ endpoints: Endpoint[] }>('/api/v1/endpoints'),
    apiGet<{ rules: AlertRule[] }>('/api/v1/alerts'),
  ]);
  const monitoring: OverviewData['monitoring'] = {};
  await Promise.all(
    endpoints.endpoints.map(async (e) => {
      try {
        monitoring[e.endpoint] = await apiGet<Monitoring>(
          `/api/v1/deployments/${enc(e.endpoint)}/monitoring`,
        );
      } catch (err) {
        monitoring[e.endpoint] = { error: String((err as Error).message) };
      }
    }),
  );
  recordHistory(endpoints.endpoints);
  return { endpoints: endpoints.endpoints, monitoring, rules: alerts.rules };
}

// The chart's history: one sample per endpoint per poll, for the last 15 minutes, kept
// across page changes within the tab.
const HISTORY_SECONDS = 15 * 60;
const history: { t: number; values: Record<string, { rps: number | null; p99: number | null }> }[] = [];

function recordHistory(endpoints: Endpoint[]) {
  const t = Date.now() / 1000;
  const values: (typeof history)[number]['values'] = {};
  for (const e of endpoints) {
    values[e.endpoint] = {
      rps: e.traffic?.throughput?.requests_per_second ?? null,
      p99: e.traffic?.latency_seconds ? e.traffic.latency_seconds.p99 * 1000 : null,
    };
  }
  history.push({ t, values });
  while (history.length && history[0].t < t - HISTORY_SECONDS) history.shift();
}

export function OverviewPage() {
  const polled = usePoll(loadOverview, []);
  const data = polled.data;
  return (
    <section>
      <h1>Overview</h1>
      <Freshness polled={polled} />
      {data && (
        <>
          <h2>Endpoints</h2>
          <EndpointTable data={data} />
          <LiveCharts endpoints={data.endpoints.map((e) => e.endpoint)} />
          <h2>Alerts firing</h2>
          <AlertTable rules={data.rules} />
        </>
      )}
    </section>
  );
}

function EndpointTable({ data }: { data: OverviewData }) {
  if (data.endpoints.length === 0) {
    return <p class="muted">No endpoints. Deploy one with <code>ferry deploy NAME --model MODEL@VERSION</code>.</p>;
  }
  return (
    <table class="data" data-testid="endpoints">
      <thead>
        <tr>
          <th>endpoint</th>
          <th>state</th>
          <th>model</th>
          <th class="num">version</th>
          <th class="num">throughput (req/s)</th>
          <th class="num">p50 (ms)</th>
          <th class="num">p99 (ms)</th>
          <th class="num">requests</th>
          <th class="num">errors (%)</th>
          <th>window</th>
          <th>drift</th>
        </tr>
      </thead>
      <tbody>
        {data.endpoints.map((e) => {
          const t = e.traffic;
          return (
            <tr data-endpoint={e.endpoint}>
              <td>
                <strong>{e.endpoint}</strong>
              </td>
              <td>
                <span class={`state state-${e.state.toLowerCase()}`} title={e.reason}>
                  {e.state}
                </span>
              </td>
              <td>{e.model}</td>
              <td class="num" data-col="version">{e.version}</td>
              <td class="num" data-col="rps">{fmtNumber(t?.throughput?.requests_per_second ?? null, 3)}</td>
              <td class="num" data-col="p50">{fmtMillis(t?.latency_seconds?.p50)}</td>
              <td class="num" data-col="p99">{fmtMillis(t?.latency_seconds?.p99)}</td>
              <td class="num" data-col="requests">{fmtInt(t?.requests)}</td>
              <td class="num" data-col="errors" title={`${fmtInt(t?.failed)} failed`}>
                {t?.error_rate == null ? '–' : fmtNumber(t.error_rate * 100, 2)}
              </td>
              <td class="muted">{fmtWindow(t?.window)}</td>
              <td data-col="drift">
                <DriftCell monitoring={data.monitoring[e.endpoint]} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function DriftCell({ monitoring }: { monitoring: Monitoring | { error: string } | undefined }) {
  if (!monitoring) return <span class="muted">–</span>;
  if ('error' in monitoring) return <span class="muted" title={monitoring.error}>not monitored</span>;
  return (
    <ul class="plain">
      {monitoring.models.map((m) => {
        const d = m.drift;
        const drifted = d.features.filter((f) => f.drifted).map((f) => f.name);
        const note = d.features.find((f) => f.note)?.note;
        let verdict;
        if (d.features_with_verdict === 0) {
          verdict = (
            <span class="badge neutral" title={note}>
              no verdict yet
            </span>
          );
        } else if (d.features_drifted > 0) {
          verdict = (
            <span class="badge bad" title={drifted.join(', ')}>
              {d.features_drifted} of {d.features_with_verdict} features drifted
            </span>
          );
        } else {
          verdict = <span class="badge good">no drift ({d.features_with_verdict} features)</span>;
        }
        return (
          <li data-drifted={d.features_drifted}>
            <span class="muted">
              {m.model}@{m.version} {m.role}:
            </span>{' '}
            {verdict}
            {d.features_with_verdict === 0 && note && <div class="note">{note}</div>}
            {drifted.length > 0 && <div class="note">{drifted.join(', ')}</div>}
          </li>
        );
      })}
    </ul>
  );
}

function LiveCharts({ endpoints }: { endpoints: string[] }) {
  if (endpoints.length === 0) return null;
  const x = history.map((h) => h.t);
  const series = (key: 'rps' | 'p99') =>
    endpoints.map((name) => ({ label: name, values: history.map((h) => h.values[name]?.[key] ?? null) }));
  return (
    <div class="charts">
      <Chart
        testId="chart-throughput"
        title="Throughput (requests/s), last 15 minutes of this tab's polls"
        x={x}
        time
        xLabel="time"
        yLabel="requests/s"
        series={series('rps')}
      />
      <Chart
        testId="chart-p99"
        title="Latency p99 (ms), last 15 minutes"
        x={x}
        time
        xLabel="time"
        yLabel="ms"
        series={series('p99')}
      />
    </div>
  );
}

function AlertTable({ rules }: { rules: AlertRule[] }) {
  const firing = rules.flatMap((r) =>
    r.alerts.filter((a) => a.state === 'firing' || a.state === 'pending').map((a) => ({ rule: r, alert: a })),
  );
  if (firing.length === 0) {
    return (
      <p class="muted" data-testid="no-alerts">
        No alerts firing or pending ({rules.length} {rules.length === 1 ? 'rule' : 'rules'} in force).
      </p>
    );
  }
  return (
    <table class="data" data-testid="alerts">
      <thead>
        <tr>
          <th>rule</th>
          <th>state</th>
          <th>severity</th>
          <th>labels</th>
          <th>since</th>
          <th class="num">value</th>
          <th>summary</th>
        </tr>
      </thead>
      <tbody>
        {firing.map(({ rule, alert }) => (
          <tr>
            <td>{rule.name}</td>
            <td>
              <span class={`badge ${alert.state === 'firing' ? 'bad' : 'warn'}`}>{alert.state}</span>
            </td>
            <td>{rule.severity}</td>
            <td class="labels">
              {Object.entries(alert.labels)
                .filter(([k]) => k !== 'alertname')
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')}
            </td>
            <td>{fmtTime(alert.fired_at ?? alert.active_since)}</td>
            <td class="num">{fmtNumber(alert.value ?? null, 3)}</td>
            <td>{alert.annotations?.summary ?? rule.annotations?.summary ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
