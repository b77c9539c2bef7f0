// Datasets: every dataset with its latest version; one dataset's versions, a version's
// profile (per-column statistics and histograms), its lineage one step each way, and
// the differences between two chosen versions.
import { useState } from 'preact/hooks';
import {
  apiGet,
  enc,
  type ColumnProfile,
  type Dataset,
  type DatasetDiff,
  type DatasetLineage,
  type DatasetProfile,
  type DatasetVersion,
  type LineageLink,
} from '../api';
import { Freshness, link } from '../app';
import { Chart } from '../chart';
import { fmtBytes, fmtDuration, fmtInt, fmtMicros, fmtNumber, fmtStat, fmtTime } from '../format';
import { lineageRoute } from '../lineage';
import { DetailHeader, VersionLink, routeItem, showVersion } from './common';
import { useLoad, usePoll } from '../poll';
import { BASE, setQuery, useRoute } from '../router';

export function DatasetsPage() {
  const [route] = useRoute();
  const name = routeItem(route);
  // Keyed by name: another item starts with fresh local state (chosen version, open log).
  return name !== null ? <DatasetDetail key={name} name={name} /> : <DatasetList />;
}

function DatasetList() {
  const list = usePoll(() => apiGet<{ datasets: Dataset[] }>('/api/v1/datasets'), []);
  const datasets = list.data?.datasets ?? [];
  return (
    <section>
      <h1>Datasets</h1>
      <Freshness polled={list} />
      {list.data && datasets.length === 0 && (
        <p class="muted">
          No datasets yet (<code>ferry data add NAME FILE</code>).
        </p>
      )}
      {datasets.length > 0 && (
        <table class="data" data-testid="datasets">
          <thead>
            <tr>
              <th>dataset</th>
              <th class="num">versions</th>
              <th class="num">latest</th>
              <th class="num">rows</th>
              <th class="num">size</th>
              <th>format</th>
              <th>added (UTC)</th>
              <th>message</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr data-dataset={d.name}>
                <td>
                  <a href={`${BASE}datasets/${enc(d.name)}`} onClick={link(`datasets/${enc(d.name)}`)}>
                    {d.name}
                  </a>
                </td>
                <td class="num" data-col="versions">
                  {fmtInt(d.versions)}
                </td>
                <td class="num">v{d.latest.version}</td>
                <td class="num" data-col="rows">
                  {fmtInt(d.latest.rows)}
                </td>
                <td class="num">{fmtBytes(d.latest.size)}</td>
                <td>{d.latest.format}</td>
                <td class="nowrap">{fmtTime(d.latest.created_at)}</td>
                <td class="muted">{d.latest.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DatasetDetail({ name }: { name: string }) {
  const [, query] = useRoute();
  const versions = usePoll(
    () => apiGet<{ versions: DatasetVersion[] }>(`/api/v1/datasets/${enc(name)}/versions`),
    [name],
  );
  const list = versions.data?.versions ?? [];
  const chosen = Number(query.get('version')) || list[0]?.version || null;
  const [diffFrom, setDiffFrom] = useState<number | null>(Number(query.get('from')) || null);
  const current = list.find((v) => v.version === chosen);
  const show = (v: number) => {
    setDiffFrom(null);
    showVersion(v, { from: null });
  };
  // Compared by default: the chosen version against its parent (or the one before).
  const from = diffFrom ?? current?.parent ?? list.find((v) => chosen !== null && v.version < chosen)?.version ?? null;

  return (
    <section>
      <DetailHeader listRoute="datasets" listTitle="Datasets" name={name} polled={versions} />
      {list.length > 0 && (
        <div class="scroll">
          <table class="data" data-testid="versions">
            <thead>
              <tr>
                <th class="num">version</th>
                <th>tags</th>
                <th class="num">rows</th>
                <th class="num">size</th>
                <th class="num">new bytes</th>
                <th>added (UTC)</th>
                <th>content SHA-256</th>
                <th>message</th>
              </tr>
            </thead>
            <tbody>
              {list.map((v) => (
                <tr data-version={v.version} class={v.version === chosen ? 'current' : ''}>
                  <td class="num">
                    <VersionLink version={v.version} onShow={show} />
                  </td>
                  <td class="tags">
                    {v.tags.map((t) => (
                      <span class="badge neutral">{t}</span>
                    ))}
                  </td>
                  <td class="num" data-col="rows">
                    {fmtInt(v.rows)}
                  </td>
                  <td class="num">{fmtBytes(v.size)}</td>
                  <td class="num">{fmtBytes(v.new_bytes)}</td>
                  <td class="nowrap">{fmtTime(v.created_at)}</td>
                  <td class="sha">
                    <code title={v.content_sha256}>{v.content_sha256.slice(0, 12)}</code>
                  </td>
                  <td class="muted">{v.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {current && <Lineage name={name} version={current.version} />}
      {current && (
        <Diff
          name={name}
          list={list}
          from={from}
          to={current.version}
          onFrom={(v) => {
            setDiffFrom(v);
            setQuery({ from: String(v) });
          }}
        />
      )}
      {current && <Profile name={name} version={current} />}
    </section>
  );
}

function Lineage({ name, version }: { name: string; version: number }) {
  const lineage = usePoll(
    () => apiGet<DatasetLineage>(`/api/v1/datasets/${enc(name)}/versions/${version}/lineage`),
    [name, version],
  );
  const data = lineage.data;
  const links = (items: LineageLink[], testId: string) =>
    items.length === 0 ? (
      <p class="muted">none</p>
    ) : (
      <ul class="plain" data-testid={testId}>
        {items.map((i) => {
          const route = lineageRoute(i.kind, i.id);
          return (
            <li>
              <span class="muted">{i.kind.replace('_', ' ')}</span>{' '}
              {route ? (
                <a href={BASE + route} onClick={link(route)}>
                  {i.kind === 'run' ? i.id.slice(0, 12) : i.id}
                </a>
              ) : (
                <code>{i.id}</code>
              )}{' '}
              <span class="muted">({i.relation})</span>
            </li>
          );
        })}
      </ul>
    );
  return (
    <section class="panel" data-testid="lineage">
      <header>
        <h2>
          Lineage of {name}@{version}
        </h2>
      </header>
      {lineage.error && <p class="error">{lineage.error.message}</p>}
      {data && (
        <div class="columns">
          <div>
            <h3>Made from</h3>
            {links(data.made_from, 'made-from')}
          </div>
          <div>
            <h3>Used by</h3>
            {links(data.used_by, 'used-by')}
          </div>
        </div>
      )}
    </section>
  );
}

function Diff(props: { name: string; list: DatasetVersion[]; from: number | null; to: number; onFrom: (v: number) => void }) {
  const { name, list, from, to } = props;
  const diff = useLoad(
    () =>
      from === null
        ? Promise.resolve(null)
        : apiGet<DatasetDiff>(
            `/api/v1/datasets/${enc(name)}/versions/${from}/diff?to=${enc(`${name}@${to}`)}`,
          ),
    [name, from, to],
  );
  const d = diff.data;
  const p = d?.profile;
  const types = new Map<string, string>();
  for (const v of list.filter((x) => x.version === from || x.version === to))
    for (const c of v.schema) types.set(c.name, c.type);
  const stat = (column: string, statistic: string, value: number) => {
    if (types.get(column) !== 'timestamp') return fmtStat(value);
    if (statistic === 'stddev') return fmtDuration(value / 1e6);
    return ['distinct', 'count', 'null_count', 'null_rate'].includes(statistic) ? fmtStat(value) : fmtMicros(value);
  };
  return (
    <section class="panel" data-testid="diff">
      <header>
        <h2>Changes</h2>
      </header>
      <form class="controls" onSubmit={(e) => e.preventDefault()}>
        <label>
          from{' '}
          <select
            name="diff-from"
            value={from ?? ''}
            onChange={(e) => props.onFrom(Number((e.target as HTMLSelectElement).value))}
          >
            {from === null && <option value="">–</option>}
            {list
              .filter((v) => v.version !== to)
              .map((v) => (
                <option value={v.version}>
                  v{v.version} · {fmtTime(v.created_at)}
                </option>
              ))}
          </select>
        </label>
        <span class="muted">
          → to <strong>v{to}</strong> (choose another version above)
        </span>
      </form>
      {from === null && (
        <p class="muted">
          {list.length > 1 ? 'No earlier version: choose one to compare with.' : 'This is the only version: nothing to compare.'}
        </p>
      )}
      {diff.error && <p class="error">{diff.error.message}</p>}
      {d && !d.profile && (
        <p class="muted" data-testid="diff-no-profile">
          {fmtBytes(d.shared_bytes)} shared, {fmtBytes(d.new_bytes)} new; no statistics to compare: one
          side is not a table (no profile).
        </p>
      )}
      {d && p && (
        <>
          <dl class="facts">
            <dt>rows</dt>
            <dd data-testid="diff-rows">
              {fmtInt(p.rows.before)} → {fmtInt(p.rows.after)} (
              {p.rows.after >= p.rows.before ? '+' : ''}
              {fmtInt(p.rows.after - p.rows.before)})
            </dd>
            <dt>bytes</dt>
            <dd>
              {fmtBytes(d.shared_bytes)} shared, {fmtBytes(d.new_bytes)} new
            </dd>
            <dt>columns added</dt>
            <dd>{p.added_columns.map((c) => `${c.name} (${c.type})`).join(', ') || '–'}</dd>
            <dt>columns removed</dt>
            <dd>{p.removed_columns.map((c) => `${c.name} (${c.type})`).join(', ') || '–'}</dd>
            <dt>types changed</dt>
            <dd>{p.type_changes.map((c) => `${c.column}: ${c.before} → ${c.after}`).join(', ') || '–'}</dd>
          </dl>
          {p.changes.length === 0 ? (
            <p class="muted">No statistic changed.</p>
          ) : (
            <table class="data" data-testid="diff-changes">
              <thead>
                <tr>
                  <th>column</th>
                  <th>statistic</th>
                  <th class="num">before (v{from})</th>
                  <th class="num">after (v{to})</th>
                  <th class="num">change</th>
                </tr>
              </thead>
              <tbody>
                {p.changes.map((c) => (
                  <tr data-column={c.column} data-statistic={c.statistic}>
                    <td>{c.column}</td>
                    <td>{c.statistic}</td>
                    <td class="num">{stat(c.column, c.statistic, c.before)}</td>
                    <td class="num">{stat(c.column, c.statistic, c.after)}</td>
                    <td class="num">
                      {c.before !== 0 && types.get(c.column) !== 'timestamp'
                        ? `${c.after >= c.before ? '+' : ''}${fmtNumber(((c.after - c.before) / Math.abs(c.before)) * 100, 1)} %`
                        : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

const QUANTILES = ['p01', 'p25', 'p50', 'p75', 'p99'];

function Profile({ name, version }: { name: string; version: DatasetVersion }) {
  const profile = useLoad(
    () => apiGet<DatasetProfile>(`/api/v1/datasets/${enc(name)}/versions/${version.version}/profile`),
    [name, version.version],
  );
  const columns = profile.data?.profile?.columns ?? [];
  const isTime = (c: ColumnProfile) => c.type === 'timestamp';
  const v = (c: ColumnProfile, x: number | undefined) => (isTime(c) ? fmtMicros(x) : fmtStat(x));
  return (
    <section class="panel" data-testid="profile">
      <header>
        <h2>
          Profile of {name}@{version.version}
        </h2>
        <span class="muted">
          {fmtInt(profile.data?.profile?.row_count)} rows · {columns.length} columns · times in UTC
        </span>
      </header>
      {profile.error && <p class="error">{profile.error.message}</p>}
      {profile.data && !profile.data.profile && (
        <p class="muted" data-testid="no-profile">
          No profile: this version is stored as a file, not read as a table (no schema or statistics).
        </p>
      )}
      {columns.length > 0 && (
        <div class="scroll">
          <table class="data" data-testid="profile-columns">
            <thead>
              <tr>
                <th>column</th>
                <th>type</th>
                <th class="num">count</th>
                <th class="num">nulls</th>
                <th class="num">null rate</th>
                <th class="num">distinct</th>
                <th class="num">min</th>
                <th class="num">mean</th>
                <th class="num">max</th>
                {QUANTILES.map((q) => (
                  <th class="num">{q}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {columns.map((c) => (
                <tr data-column={c.name}>
                  <td>{c.name}</td>
                  <td>{c.type}</td>
                  <td class="num">{fmtInt(c.count)}</td>
                  <td class="num">{fmtInt(c.null_count)}</td>
                  <td class="num">{fmtNumber(c.null_rate * 100, 1)} %</td>
                  <td class="num nowrap">
                    {c.distinct_exact ? '' : '≈ '}
                    {fmtInt(c.distinct)}
                  </td>
                  <td class="num nowrap">{v(c, c.min)}</td>
                  <td class="num nowrap">{v(c, c.mean)}</td>
                  <td class="num nowrap">{v(c, c.max)}</td>
                  {QUANTILES.map((q) => (
                    <td class="num nowrap">{v(c, c.quantiles?.[q])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="charts">
        {columns.map((c) =>
          c.histogram ? (
            <Histogram key={c.name} column={c} />
          ) : c.top_values?.length ? (
            <TopValues column={c} />
          ) : null,
        )}
      </div>
    </section>
  );
}

function Histogram({ column }: { column: ColumnProfile }) {
  const h = column.histogram!;
  const time = column.type === 'timestamp';
  // Bars start at each bin's left edge; the last edge closes the last bar.
  const x = time ? h.edges.map((e) => e / 1e6) : h.edges;
  return (
    <Chart
      title={`${column.name} (${column.type})`}
      testId={`histogram-${column.name}`}
      x={x}
      time={time}
      xLabel={time ? `${column.name} (UTC)` : column.name}
      yLabel="rows"
      width={400}
      height={190}
      series={[{ label: 'rows', values: [...h.counts, null], bars: true }]}
    />
  );
}

function TopValues({ column }: { column: ColumnProfile }) {
  const top = column.top_values!.slice(0, 10);
  const most = Math.max(1, ...top.map((t) => t.count));
  return (
    <figure class="chart top-values" data-testid={`top-${column.name}`}>
      <figcaption>
        {column.name} ({column.type}): top values
      </figcaption>
      <table class="data">
        <tbody>
          {top.map((t) => (
            <tr>
              <td>
                <code>{t.value}</code>
              </td>
              <td class="num">{fmtInt(t.count)}</td>
              <td>
                <span class="bar" style={{ width: `${Math.round((t.count / most) * 120)}px` }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
