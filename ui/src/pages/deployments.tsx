// Deployments: every endpoint's served and target version, state and traffic; one
// endpoint's rollout (traffic split, the timeline of its steps and analyses) and its
// monitoring per served model (drift per feature, data quality, live quality, latency).
import {
  apiGet,
  ApiError,
  enc,
  type Endpoint,
  type FeatureDrift,
  type FeatureQuality,
  type ModelMonitoring,
  type Monitoring,
  type Rollout,
  type RolloutEvent,
} from '../api';
import { Freshness, link } from '../app';
import { DistributionChart } from '../distribution';
import { fmtInt, fmtMetric, fmtMillis, fmtNumber, fmtStat, fmtTime, fmtVersion, fmtWindow } from '../format';
import { usePoll } from '../poll';
import { BASE, useRoute } from '../router';
import { DetailHeader, routeItem } from './common';

export function DeploymentsPage() {
  const [route] = useRoute();
  const name = routeItem(route);
  // Keyed by name: another item starts with fresh local state (chosen version, open log).
  return name !== null ? <DeploymentDetail key={name} name={name} /> : <DeploymentList />;
}

export function endpointLink(endpoint: string) {
  const route = `deployments/${enc(endpoint)}`;
  return (
    <a href={BASE + route} onClick={link(route)}>
      {endpoint}
    </a>
  );
}

function StateBadge({ e }: { e: Endpoint }) {
  return (
    <span class={`state state-${e.state.toLowerCase()}`} title={e.reason}>
      {e.state}
    </span>
  );
}

function pct(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined) return '–';
  return `${fmtNumber(share * 100, digits)} %`;
}

function DeploymentList() {
  const list = usePoll(() => apiGet<{ endpoints: Endpoint[] }>('/api/v1/endpoints'), []);
  const endpoints = list.data?.endpoints ?? [];
  return (
    <section>
      <h1>Deployments</h1>
      <Freshness polled={list} />
      {list.data && endpoints.length === 0 && (
        <p class="muted">
          No endpoints. Deploy one with <code>ferry deploy NAME --model MODEL@VERSION</code>.
        </p>
      )}
      {endpoints.length > 0 && (
        <table class="data" data-testid="deployments">
          <thead>
            <tr>
              <th>endpoint</th>
              <th>state</th>
              <th>model</th>
              <th class="num">served</th>
              <th class="num">target</th>
              <th>rollout</th>
              <th class="num">throughput (req/s)</th>
              <th class="num">p50 (ms)</th>
              <th class="num">p99 (ms)</th>
              <th class="num">requests</th>
              <th>updated (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.map((e) => {
              const t = e.traffic;
              return (
                <tr data-endpoint={e.endpoint}>
                  <td>
                    <strong>{endpointLink(e.endpoint)}</strong>
                  </td>
                  <td>
                    <StateBadge e={e} />
                  </td>
                  <td>{e.model}</td>
                  <td class="num" data-col="version">
                    {fmtVersion(e.version)}
                  </td>
                  <td class="num">{fmtVersion(e.target_version)}</td>
                  <td data-col="rollout">
                    {e.rollout ? (
                      <span class="badge warn">
                        {e.rollout.kind} v{e.rollout.candidate_version} at {e.rollout.weight} %
                      </span>
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                  <td class="num">{fmtNumber(t?.throughput?.requests_per_second ?? null, 3)}</td>
                  <td class="num">{fmtMillis(t?.latency_seconds?.p50)}</td>
                  <td class="num">{fmtMillis(t?.latency_seconds?.p99)}</td>
                  <td class="num">{fmtInt(t?.requests)}</td>
                  <td class="nowrap">
                    {fmtTime(e.updated_at)} {e.updated_by && <span class="muted">by {e.updated_by}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface DetailData {
  endpoint: Endpoint;
  rollout: Rollout | null; // null: the endpoint has none (404)
  monitoring: Monitoring | { error: string };
}

async function loadDetail(name: string): Promise<DetailData> {
  const [endpoint, rollout, monitoring] = await Promise.all([
    apiGet<Endpoint>(`/api/v1/endpoints/${enc(name)}`),
    apiGet<Rollout>(`/api/v1/endpoints/${enc(name)}/rollout`).catch((e) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }),
    apiGet<Monitoring>(`/api/v1/deployments/${enc(name)}/monitoring?distributions=true`).catch((e) => ({
      error: String((e as Error).message),
    })),
  ]);
  return { endpoint, rollout, monitoring };
}

function DeploymentDetail({ name }: { name: string }) {
  const polled = usePoll(() => loadDetail(name), [name]);
  const d = polled.data;
  const e = d?.endpoint;
  const t = e?.traffic;
  return (
    <section>
      <DetailHeader listRoute="deployments" listTitle="Deployments" name={name} polled={polled} />
      {d && e && (
        <>
          <dl class="facts" data-testid="endpoint-facts">
            <dt>state</dt>
            <dd>
              <StateBadge e={e} /> {e.reason && <span class="muted">{e.reason}</span>}
            </dd>
            <dt>model</dt>
            <dd>{e.model}</dd>
            <dt>served version</dt>
            <dd data-testid="served-version">{fmtVersion(e.version)}</dd>
            <dt>target version</dt>
            <dd>{fmtVersion(e.target_version)}</dd>
            <dt>traffic</dt>
            <dd>
              {fmtInt(t?.requests)} requests, {fmtInt(t?.rows)} rows,{' '}
              {fmtNumber(t?.throughput?.requests_per_second ?? null, 3)} req/s; latency p50{' '}
              {fmtMillis(t?.latency_seconds?.p50)} ms, p99 {fmtMillis(t?.latency_seconds?.p99)} ms
              <span class="muted"> (window {fmtWindow(t?.window)})</span>
            </dd>
            <dt>updated</dt>
            <dd>
              {fmtTime(e.updated_at)} UTC {e.updated_by && `by ${e.updated_by}`}
            </dd>
          </dl>
          <h2>Rollout</h2>
          {d.rollout ? (
            <RolloutView rollout={d.rollout} />
          ) : (
            <p class="muted" data-testid="no-rollout">
              No rollout on this endpoint. Start one with <code>ferry deploy {name} --canary MODEL@VERSION</code>.
            </p>
          )}
          <h2>Monitoring</h2>
          {'error' in d.monitoring ? (
            <p class="muted" data-testid="no-monitoring">
              Not monitored: {d.monitoring.error}
            </p>
          ) : (
            d.monitoring.models.map((m) => <ModelMonitoringView key={`${m.role}/${m.model}@${m.version}`} m={m} />)
          )}
        </>
      )}
    </section>
  );
}

function SplitBar({ rollout }: { rollout: Rollout }) {
  // The API's weight is the candidate's share in percent.
  const candidate = Math.max(0, Math.min(100, rollout.weight)) / 100;
  return (
    <div class="split" data-testid="traffic-split" title={`candidate ${pct(candidate, 0)}`}>
      <div class="split-stable" style={{ width: `${(1 - candidate) * 100}%` }}>
        {candidate < 1 && `stable v${rollout.stable_version} · ${pct(1 - candidate, 0)}`}
      </div>
      <div class="split-candidate" style={{ width: `${candidate * 100}%` }}>
        {candidate > 0 && `candidate v${rollout.candidate_version} · ${pct(candidate, 0)}`}
      </div>
    </div>
  );
}

function phaseClass(phase: string): string {
  if (phase === 'promoted' || phase === 'succeeded') return 'good';
  if (phase === 'rolled_back' || phase === 'failed' || phase === 'aborted') return 'bad';
  if (phase === 'paused') return 'neutral';
  return 'warn';
}

function RolloutView({ rollout }: { rollout: Rollout }) {
  // The API gives the endpoint's recent events over all its rollouts; seq counts within
  // one rollout. This rollout's make the timeline, earlier ones' are listed apart.
  const newestFirst = (a: RolloutEvent, b: RolloutEvent) => b.rollout_id - a.rollout_id || b.seq - a.seq;
  const events = rollout.events.filter((e) => e.rollout_id === rollout.id).sort(newestFirst);
  const earlier = rollout.events.filter((e) => e.rollout_id !== rollout.id).sort(newestFirst);
  return (
    <div data-testid="rollout">
      <dl class="facts">
        <dt>phase</dt>
        <dd>
          <span class={`badge ${phaseClass(rollout.phase)}`} data-testid="rollout-phase">
            {rollout.phase}
          </span>{' '}
          {rollout.kind}, step {rollout.step} of {rollout.steps}
          {rollout.failures > 0 && <span class="error"> · {rollout.failures} failed analyses</span>}
        </dd>
        <dt>stable</dt>
        <dd>v{rollout.stable_version}</dd>
        <dt>candidate</dt>
        <dd>
          {rollout.model} (v{rollout.candidate_version})
        </dd>
        <dt>started</dt>
        <dd>
          {fmtTime(rollout.created_at)} UTC by {rollout.created_by}
        </dd>
        <dt>last analysis</dt>
        <dd>{fmtTime(rollout.last_analysis_at)} UTC</dd>
      </dl>
      <SplitBar rollout={rollout} />
      <h3>Timeline, newest first ({events.length} events)</h3>
      <ol class="timeline" data-testid="rollout-events">
        {events.map((ev) => (
          <TimelineEvent key={ev.seq} ev={ev} />
        ))}
      </ol>
      {earlier.length > 0 && (
        <details data-testid="earlier-rollout-events">
          <summary>
            Earlier rollouts on this endpoint ({earlier.length} recent events of rollouts{' '}
            {[...new Set(earlier.map((e) => e.rollout_id))].map((id) => `#${id}`).join(', ')})
          </summary>
          <ol class="timeline">
            {earlier.map((ev) => (
              <TimelineEvent key={`${ev.rollout_id}-${ev.seq}`} ev={ev} />
            ))}
          </ol>
        </details>
      )}
    </div>
  );
}

function TimelineEvent({ ev }: { ev: RolloutEvent }) {
  const checks = ev.figures.checks ?? [];
  return (
    <li data-rollout={ev.rollout_id} data-seq={ev.seq} data-type={ev.type}>
      <div>
        <span class="nowrap">{fmtTime(ev.at)}</span> <strong>{ev.type}</strong>{' '}
        <span class={`badge ${phaseClass(ev.phase)}`}>{ev.phase}</span>{' '}
        <span class="muted">
          candidate {ev.weight} % · by {ev.actor}
        </span>
        {ev.figures.decision && (
          <>
            {' '}
            · decision <strong data-testid="decision">{ev.figures.decision}</strong>
            {ev.figures.failure_limit !== undefined && (
              <span class="muted">
                {' '}
                (failures {ev.figures.failures ?? 0} of {ev.figures.failure_limit})
              </span>
            )}
          </>
        )}
      </div>
      <div class="note">{ev.reason}</div>
      {checks.length > 0 && (
        <table class="data checks">
          <thead>
            <tr>
              <th>check</th>
              <th>outcome</th>
              <th class="num">value</th>
              <th class="num">threshold</th>
              <th>detail</th>
            </tr>
          </thead>
          <tbody>
            {checks.map((c) => (
              <tr data-check={c.name}>
                <td>{c.name}</td>
                <td>
                  <span class={`badge ${c.outcome === 'success' ? 'good' : c.outcome === 'failure' ? 'bad' : 'neutral'}`}>
                    {c.outcome === 'success' ? 'pass' : c.outcome === 'failure' ? 'fail' : c.outcome}
                  </span>
                </td>
                <td class="num">{fmtStat(c.value)}</td>
                <td class="num">{fmtStat(c.threshold)}</td>
                <td class="muted">{c.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  );
}

function Verdict({ f }: { f: FeatureDrift }) {
  if (f.drifted === null) return <span class="badge neutral">no verdict</span>;
  return f.drifted ? <span class="badge bad">drifted</span> : <span class="badge good">no drift</span>;
}

function DriftRow({ f, testId }: { f: FeatureDrift; testId?: string }) {
  return (
    <tr data-feature={f.name} data-testid={testId}>
      <td>{f.name}</td>
      <td>{f.method}</td>
      <td class="num">{fmtStat(f.statistic)}</td>
      <td class="num">{fmtStat(f.threshold)}</td>
      <td class="num">{fmtStat(f.p_value ?? null)}</td>
      <td class="nowrap">
        <Verdict f={f} />
      </td>
      <td class="num">{fmtInt(f.live_rows)}</td>
      <td class="num">{fmtInt(f.reference_rows)}</td>
      <td class="muted">{f.note ?? ''}</td>
    </tr>
  );
}

function DriftHead() {
  return (
    <thead>
      <tr>
        <th>feature</th>
        <th>method</th>
        <th class="num">statistic</th>
        <th class="num">threshold</th>
        <th class="num">p-value</th>
        <th>verdict</th>
        <th class="num">live rows</th>
        <th class="num">reference rows</th>
        <th>note</th>
      </tr>
    </thead>
  );
}

function ModelMonitoringView({ m }: { m: ModelMonitoring }) {
  const d = m.drift;
  const quality = m.quality;
  return (
    <section class="panel" data-testid="monitoring" data-model={`${m.model}@${m.version}`} data-role={m.role}>
      <header>
        <h3>
          {m.model}@{m.version} <span class="muted">({m.role})</span>
        </h3>
        <span class="muted">
          reference {m.reference?.dataset ?? '–'} · window {fmtWindow(m.window)}
        </span>
      </header>
      <dl class="facts">
        <dt>traffic</dt>
        <dd>
          {fmtInt(m.requests)} requests, {fmtInt(m.rows)} rows ({fmtInt(m.monitored_rows)} monitored),{' '}
          {fmtNumber(m.throughput?.requests_per_second ?? null, 3)} req/s
        </dd>
        <dt>latency</dt>
        <dd>
          p50 {fmtMillis(m.latency_seconds?.p50)} ms · p90 {fmtMillis(m.latency_seconds?.p90)} ms · p99{' '}
          {fmtMillis(m.latency_seconds?.p99)} ms · max {fmtMillis(m.latency_seconds?.max)} ms
        </dd>
        <dt>dataset drift</dt>
        <dd>
          {d.features_with_verdict === 0
            ? 'no verdict yet'
            : `${d.features_drifted} of ${d.features_with_verdict} features drifted (${pct(d.drifted_share)})${
                d.dataset_drift ? ': dataset drift' : ''
              }`}
        </dd>
        <dt>live quality</dt>
        <dd data-testid="live-quality">
          {quality && Object.keys(quality.metrics).length > 0
            ? Object.entries(quality.metrics)
                .map(([k, v]) => `${k} ${fmtMetric(v)}`)
                .join(' · ') + ` (${fmtInt(quality.labeled)} labelled)`
            : (quality?.note ?? 'no feedback')}
        </dd>
      </dl>
      <h4>Drift per feature</h4>
      <div class="scroll">
        <table class="data" data-testid="drift">
          <DriftHead />
          <tbody>
            {d.features.map((f) => (
              <DriftRow f={f} />
            ))}
          </tbody>
        </table>
      </div>
      {d.prediction && (
        <>
          <h4>Prediction drift</h4>
          <table class="data" data-testid="prediction-drift">
            <DriftHead />
            <tbody>
              <DriftRow f={d.prediction} />
            </tbody>
          </table>
        </>
      )}
      {m.distributions && m.distributions.length > 0 && (
        <>
          <h4>Distributions, reference against live window</h4>
          <div class="charts" data-testid="distributions">
            {m.distributions.map((x) => (
              <DistributionChart key={x.name} d={x} />
            ))}
          </div>
        </>
      )}
      {d.data_quality && d.data_quality.length > 0 && (
        <>
          <h4>Data quality, live next to reference</h4>
          <div class="scroll">
            <QualityTable rows={d.data_quality} />
          </div>
        </>
      )}
    </section>
  );
}

function QualityTable({ rows }: { rows: FeatureQuality[] }) {
  return (
    <table class="data" data-testid="data-quality">
      <thead>
        <tr>
          <th>feature</th>
          <th class="num">present</th>
          <th class="num">missing</th>
          <th class="num">missing (live)</th>
          <th class="num">missing (ref.)</th>
          <th class="num">out of range</th>
          <th class="num">unseen</th>
          <th class="num">mean (live)</th>
          <th class="num">mean (ref.)</th>
          <th class="num">std (live)</th>
          <th class="num">std (ref.)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((q) => (
          <tr data-feature={q.name}>
            <td>{q.name}</td>
            <td class="num">{fmtInt(q.present)}</td>
            <td class="num">{fmtInt(q.missing)}</td>
            <td class="num">{pct(q.missing_rate)}</td>
            <td class="num">{pct(q.reference_missing_rate)}</td>
            <td class="num">{pct(q.out_of_range_rate)}</td>
            <td class="num">{pct(q.unseen_rate)}</td>
            <td class="num">{fmtStat(q.mean)}</td>
            <td class="num">{fmtStat(q.reference_mean)}</td>
            <td class="num">{fmtStat(q.std)}</td>
            <td class="num">{fmtStat(q.reference_std)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
