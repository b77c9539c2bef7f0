// Runs: one experiment's runs, one page (50) per request from POST /api/v1/runs/search
// with the server's filter and order (never all runs: this stays fast at 100k), the
// selected run's details and metric charts, and selected runs compared side by side.
import { useMemo, useState } from 'preact/hooks';
import { apiGet, apiPost, enc, type Experiment, type MetricSeries, type Run, type RunPage } from '../api';
import { Freshness } from '../app';
import { Chart } from '../chart';
import { fmtDuration, fmtInt, fmtMetric, fmtTime, metricNumber, runSeconds } from '../format';
import { POLL_MS, useLoad, usePoll } from '../poll';
import { setQuery, useRoute } from '../router';
import { keysOf } from './common';

const PAGE_SIZE = 50;

export function RunsPage() {
  const [, query] = useRoute();
  const experiments = useLoad(() => apiGet<{ experiments: Experiment[] }>('/api/v1/experiments'), []);
  const list = experiments.data?.experiments ?? [];
  const [experiment, setExperiment] = useState<string | null>(query.get('experiment'));
  const chosen = experiment ?? list[0]?.name ?? null;
  const [filter, setFilter] = useState(query.get('filter') ?? '');
  const [orderBy, setOrderBy] = useState(query.get('order_by') ?? '');
  const [draftFilter, setDraftFilter] = useState(filter);
  const [draftOrder, setDraftOrder] = useState(orderBy);
  // Tokens of the pages seen so far: tokens[i] opens page i (tokens[0] is null).
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const [pageIndex, setPageIndex] = useState(0);
  const [selected, setSelected] = useState<string[]>([]);
  const [shown, setShown] = useState<string | null>(query.get('run'));
  const [comparing, setComparing] = useState(false);

  const page = usePoll(
    () =>
      chosen === null
        ? Promise.resolve<RunPage>({ runs: [], next_page_token: null })
        : apiPost<RunPage>('/api/v1/runs/search', {
            experiments: [chosen],
            filter,
            order_by: orderBy,
            max_results: PAGE_SIZE,
            page_token: tokens[pageIndex] ?? undefined,
          }),
    [chosen, filter, orderBy, pageIndex, tokens[pageIndex]],
    POLL_MS,
    { keepPrevious: true },
  );

  const restart = (changes: { experiment?: string; filter?: string; orderBy?: string }) => {
    const nextExperiment = changes.experiment ?? chosen ?? '';
    const nextFilter = changes.filter ?? filter;
    const nextOrder = changes.orderBy ?? orderBy;
    if (changes.experiment !== undefined) setExperiment(changes.experiment);
    setFilter(nextFilter);
    setOrderBy(nextOrder);
    setDraftFilter(nextFilter);
    setDraftOrder(nextOrder);
    setTokens([null]);
    setPageIndex(0);
    setQuery({ experiment: nextExperiment, filter: nextFilter, order_by: nextOrder });
  };

  const runs = page.data?.runs ?? [];
  // No next page while the one asked for loads: its token is not known yet.
  const next = page.stale ? null : (page.data?.next_page_token ?? null);
  // Columns: the keys of this page's runs only.
  const paramKeys = useMemo(() => keysOf(runs.map((r) => r.params)), [runs]);
  const metricKeys = useMemo(() => keysOf(runs.map((r) => r.metrics)), [runs]);
  const experimentInfo = list.find((e) => e.name === chosen);

  const sortBy = (column: string) => {
    const [current, dir] = orderBy.split(/\s+/);
    const desc = !(current === column && (dir ?? 'ASC').toUpperCase() === 'DESC');
    restart({ orderBy: `${column} ${desc ? 'DESC' : 'ASC'}` });
  };
  const sortMark = (column: string) => {
    const [current, dir] = orderBy.split(/\s+/);
    if (current !== column) return '';
    return (dir ?? 'ASC').toUpperCase() === 'DESC' ? ' ▼' : ' ▲';
  };
  const showRun = (id: string | null) => {
    setShown(id);
    setComparing(false);
    setQuery({ run: id });
  };

  return (
    <section>
      <h1>Runs</h1>
      <Freshness polled={page} />
      <form
        class="controls"
        onSubmit={(e) => {
          e.preventDefault();
          restart({ filter: draftFilter.trim(), orderBy: draftOrder.trim() });
        }}
      >
        <label>
          Experiment{' '}
          <select
            name="experiment"
            value={chosen ?? ''}
            onChange={(e) => restart({ experiment: (e.target as HTMLSelectElement).value })}
          >
            {list.map((x) => (
              <option value={x.name}>
                {x.name} ({fmtInt(x.runs)} runs)
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Filter{' '}
          <input
            name="filter"
            placeholder="metrics.auc > 0.9 and params.max_depth = '6'"
            value={draftFilter}
            onInput={(e) => setDraftFilter((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Order by{' '}
          <input
            name="order_by"
            placeholder="metrics.auc DESC"
            value={draftOrder}
            onInput={(e) => setDraftOrder((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Search</button>
      </form>
      {experiments.error && <p class="error">{experiments.error.message}</p>}
      {list.length === 0 && experiments.data && <p class="muted">No experiments yet.</p>}

      <div class="pager">
        <button disabled={pageIndex === 0} onClick={() => setPageIndex(pageIndex - 1)}>
          ← previous
        </button>
        <span data-testid="page-label">
          {page.stale ? (
            `page ${pageIndex + 1}, loading…`
          ) : (
            <>
              page {pageIndex + 1}, runs {fmtInt(pageIndex * PAGE_SIZE + (runs.length ? 1 : 0))}–
              {fmtInt(pageIndex * PAGE_SIZE + runs.length)}
              {experimentInfo && !filter ? ` of ${fmtInt(experimentInfo.runs)}` : ''}
            </>
          )}
        </span>
        <button
          disabled={!next}
          onClick={() => {
            const t = tokens.slice(0, pageIndex + 1);
            t.push(next);
            setTokens(t);
            setPageIndex(pageIndex + 1);
          }}
        >
          next →
        </button>
        <button
          disabled={selected.length < 2}
          onClick={() => {
            setComparing(true);
            setShown(null);
          }}
        >
          compare {selected.length} selected
        </button>
        {selected.length > 0 && (
          <button class="link" onClick={() => setSelected([])}>
            clear selection
          </button>
        )}
      </div>

      <div class="scroll">
        <table class={`data runs${page.stale ? ' stale' : ''}`} data-testid="runs" aria-busy={page.stale}>
          <thead>
            <tr>
              <th />
              <th>run</th>
              <th>
                <button class="th" onClick={() => sortBy('attributes.status')}>
                  status{sortMark('attributes.status')}
                </button>
              </th>
              <th>
                <button class="th" onClick={() => sortBy('attributes.start_time')}>
                  start (UTC){sortMark('attributes.start_time')}
                </button>
              </th>
              <th class="num">duration</th>
              {paramKeys.map((k) => (
                <th class="param">
                  <button class="th" onClick={() => sortBy(`params.${quoteKey(k)}`)}>
                    {k}
                    {sortMark(`params.${quoteKey(k)}`)}
                  </button>
                </th>
              ))}
              {metricKeys.map((k) => (
                <th class="num metric">
                  <button class="th" onClick={() => sortBy(`metrics.${quoteKey(k)}`)}>
                    {k}
                    {sortMark(`metrics.${quoteKey(k)}`)}
                  </button>
                </th>
              ))}
            </tr>
            {(paramKeys.length > 0 || metricKeys.length > 0) && (
              <tr class="group">
                <th colSpan={5} />
                {paramKeys.length > 0 && <th colSpan={paramKeys.length}>params</th>}
                {metricKeys.length > 0 && (
                  <th class="num" colSpan={metricKeys.length}>
                    latest metrics
                  </th>
                )}
              </tr>
            )}
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr data-run={r.info.run_id} class={shown === r.info.run_id ? 'current' : ''}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${r.info.name || r.info.run_id}`}
                    checked={selected.includes(r.info.run_id)}
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      setSelected(on ? [...selected, r.info.run_id] : selected.filter((id) => id !== r.info.run_id));
                    }}
                  />
                </td>
                <td>
                  <a
                    href={`?run=${r.info.run_id}`}
                    onClick={(e) => {
                      e.preventDefault();
                      showRun(r.info.run_id);
                    }}
                  >
                    {r.info.name || r.info.run_id.slice(0, 8)}
                  </a>{' '}
                  <code class="muted">{r.info.run_id.slice(0, 8)}</code>
                </td>
                <td>
                  <span class={`status status-${r.info.status.toLowerCase()}`}>{r.info.status}</span>
                </td>
                <td class="nowrap">{fmtTime(r.info.start_time)}</td>
                <td class="num">{fmtDuration(runSeconds(r.info.start_time, r.info.end_time))}</td>
                {paramKeys.map((k) => (
                  <td class="param">{r.params[k] ?? ''}</td>
                ))}
                {metricKeys.map((k) => (
                  <td class="num">{fmtMetric(r.metrics[k]?.value)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {runs.length === 0 && page.data && <p class="muted">No runs match.</p>}

      {comparing && selected.length >= 2 && <Compare ids={selected} onClose={() => setComparing(false)} />}
      {shown && !comparing && <RunDetail id={shown} onClose={() => showRun(null)} />}
    </section>
  );
}

// Keys with characters beyond [A-Za-z0-9_] are backquoted in the filter and order syntax.
function quoteKey(key: string): string {
  return /^[A-Za-z0-9_]+$/.test(key) ? key : `\`${key}\``;
}

async function loadSeries(run: Run): Promise<MetricSeries[]> {
  return Promise.all(
    Object.keys(run.metrics).map((key) =>
      apiGet<MetricSeries>(`/api/v1/runs/${enc(run.info.run_id)}/metrics/${enc(key)}`),
    ),
  );
}

function RunDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const loaded = usePoll(() => apiGet<Run>(`/api/v1/runs/${enc(id)}`), [id], 15000);
  const run = loaded.data;
  const status = run?.info.status;
  const keys = run ? Object.keys(run.metrics).sort().join('\u0000') : null;
  // The metric series: polled with the run while it runs; a finished run's do not change,
  // so they are loaded once (again only if its status or metric names change).
  const series = usePoll(
    () => (run ? loadSeries(run) : Promise.resolve(null)),
    [id, status, keys],
    status === 'RUNNING' ? 15000 : 24 * 3600 * 1000,
  );
  const data = run && series.data ? { run, series: series.data } : undefined;
  return (
    <section class="panel" data-testid="run-detail">
      <header>
        <h2>
          Run {data ? data.run.info.name || id.slice(0, 8) : '…'} <code class="muted">{id}</code>
        </h2>
        <button class="link" onClick={onClose}>
          close
        </button>
      </header>
      {loaded.error && <p class="error">{loaded.error.message}</p>}
      {series.error && <p class="error">{series.error.message}</p>}
      {data && (
        <>
          <dl class="facts">
            <dt>status</dt>
            <dd>{data.run.info.status}</dd>
            <dt>started</dt>
            <dd>{fmtTime(data.run.info.start_time)} UTC</dd>
            <dt>duration</dt>
            <dd>{fmtDuration(runSeconds(data.run.info.start_time, data.run.info.end_time))}</dd>
            <dt>user</dt>
            <dd>{data.run.info.user || '–'}</dd>
          </dl>
          <div class="columns">
            <KeyValues title="Params" values={data.run.params} testId="run-params" />
            <KeyValues title="Tags" values={data.run.tags} />
          </div>
          <h3>Inputs</h3>
          {data.run.inputs?.length ? (
            <table class="data">
              <thead>
                <tr>
                  <th>dataset version</th>
                  <th>role</th>
                  <th>content SHA-256</th>
                </tr>
              </thead>
              <tbody>
                {data.run.inputs.map((i) => (
                  <tr>
                    <td>{i.dataset_version}</td>
                    <td>{i.role}</td>
                    <td>
                      <code>{i.content_sha256.slice(0, 16)}…</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">none</p>
          )}
          <h3>Artifacts</h3>
          {data.run.artifacts?.length ? (
            <table class="data">
              <thead>
                <tr>
                  <th>path</th>
                  <th class="num">size (bytes)</th>
                  <th>digest</th>
                  <th>created (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {data.run.artifacts.map((a) => (
                  <tr>
                    <td>{a.path}</td>
                    <td class="num">{fmtInt(a.size)}</td>
                    <td>
                      <code>{a.digest.slice(0, 16)}…</code>
                    </td>
                    <td>{fmtTime(a.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">none</p>
          )}
          <h3>Metrics by step</h3>
          {data.series.length === 0 && <p class="muted">no metrics</p>}
          <div class="charts">
            {data.series.map((s) => (
              <SeriesChart key={s.key} title={s.key} series={[{ label: data.run.info.name || id.slice(0, 8), points: s.points }]} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function KeyValues({ title, values, testId }: { title: string; values: Record<string, string>; testId?: string }) {
  const entries = Object.entries(values);
  return (
    <div>
      <h3>{title}</h3>
      {entries.length === 0 ? (
        <p class="muted">none</p>
      ) : (
        <table class="data kv" data-testid={testId}>
          <tbody>
            {entries.map(([k, v]) => (
              <tr>
                <th>{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

// One chart of a metric by step; several runs' series aligned on their steps.
function SeriesChart({ title, series }: { title: string; series: { label: string; points: MetricSeries['points'] }[] }) {
  const steps = [...new Set(series.flatMap((s) => s.points.map((p) => p.step)))].sort((a, b) => a - b);
  const lookup = series.map((s) => {
    const m = new Map<number, number | null>();
    for (const p of s.points) {
      const v = metricNumber(p.value);
      m.set(p.step, v === null || !Number.isFinite(v) ? null : v);
    }
    return m;
  });
  return (
    <Chart
      title={title}
      x={steps}
      xLabel="step"
      integerX
      yLabel={title}
      width={460}
      height={200}
      series={series.map((s, i) => ({ label: s.label, values: steps.map((st) => lookup[i].get(st) ?? null) }))}
    />
  );
}

async function loadCompare(ids: string[]): Promise<{ runs: Run[]; series: MetricSeries[][] }> {
  const runs = await Promise.all(ids.map((id) => apiGet<Run>(`/api/v1/runs/${enc(id)}`)));
  const series = await Promise.all(runs.map(loadSeries));
  return { runs, series };
}

function Compare({ ids, onClose }: { ids: string[]; onClose: () => void }) {
  const loaded = useLoad(() => loadCompare(ids), [ids.join(',')]);
  const data = loaded.data;
  const label = (r: Run) => r.info.name ? `${r.info.name} ${r.info.run_id.slice(0, 6)}` : r.info.run_id.slice(0, 8);
  return (
    <section class="panel" data-testid="compare">
      <header>
        <h2>Compare {ids.length} runs</h2>
        <button class="link" onClick={onClose}>
          close
        </button>
      </header>
      {loaded.error && <p class="error">{loaded.error.message}</p>}
      {data && (
        <>
          <p class="muted">Rows whose values differ between the runs are highlighted.</p>
          <div class="scroll">
            <table class="data compare">
              <thead>
                <tr>
                  <th />
                  {data.runs.map((r) => (
                    <th>{label(r)}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <CompareRows
                  group="status"
                  keys={['status']}
                  value={(r) => r.info.status}
                  runs={data.runs}
                />
                <CompareRows group="params" keys={keysOf(data.runs.map((r) => r.params))} value={(r, k) => r.params[k]} runs={data.runs} />
                <CompareRows
                  group="metrics"
                  numeric
                  keys={keysOf(data.runs.map((r) => r.metrics))}
                  value={(r, k) => (r.metrics[k] ? fmtMetric(r.metrics[k].value) : undefined)}
                  runs={data.runs}
                />
              </tbody>
            </table>
          </div>
          <h3>Metrics by step</h3>
          <div class="charts">
            {keysOf(data.runs.map((r) => r.metrics)).map((key) => (
              <SeriesChart
                title={key}
                series={data.runs.map((r, i) => ({
                  label: label(r),
                  points: data.series[i].find((s) => s.key === key)?.points ?? [],
                }))}
              />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function CompareRows(props: {
  group: string;
  keys: string[];
  runs: Run[];
  numeric?: boolean;
  value: (run: Run, key: string) => string | undefined;
}) {
  if (props.keys.length === 0) return null;
  return (
    <>
      <tr class="group">
        <th colSpan={props.runs.length + 1}>{props.group}</th>
      </tr>
      {props.keys.map((k) => {
        const values = props.runs.map((r) => props.value(r, k));
        const differs = new Set(values.map((v) => v ?? '')).size > 1;
        return (
          <tr class={differs ? 'differs' : ''} data-key={k}>
            <th>{k}</th>
            {values.map((v) => (
              <td class={props.numeric ? 'num' : ''}>{v ?? '–'}</td>
            ))}
          </tr>
        );
      })}
    </>
  );
}
