// Features: the entities and their join keys, the feature views (source and the dataset
// version it resolves to, TTL, online, how fresh the newest event is, the last
// materialization), the services; a view's features and the training sets made from it.
import { apiGet, enc, type FeatureDefinitions, type FeatureView } from '../api';
import { Freshness, link } from '../app';
import { fmtDuration, fmtInt, fmtTime } from '../format';
import { lineageRoute } from '../lineage';
import { DetailHeader, routeItem } from './common';
import { usePoll } from '../poll';
import { BASE, useRoute } from '../router';

export function FeaturesPage() {
  const [route] = useRoute();
  const name = routeItem(route);
  // Keyed by name: another item starts with fresh local state (chosen version, open log).
  return name !== null ? <ViewDetail key={name} name={name} /> : <FeatureList />;
}

// "3 h 2 min ago": the age of the newest event by the server's clock (a workspace may run
// on a simulated one), the view's freshness.
function age(v: FeatureView): string {
  const seconds = v.freshness_seconds;
  if (!v.newest_event || seconds === null || seconds === undefined) return 'no events';
  if (seconds < 0) return `${fmtDuration(-seconds)} ahead of the server's clock`;
  // Past two days, hours and minutes are noise.
  return seconds >= 2 * 86400 ? `${Math.floor(seconds / 86400)} days ago` : `${fmtDuration(seconds)} ago`;
}

function ttl(seconds: number): string {
  if (seconds <= 0) return 'none';
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return fmtDuration(seconds);
}

function SourceVersion({ id }: { id: string | undefined }) {
  const route = id ? lineageRoute('dataset_version', id) : null;
  if (!id || !route) return <span class="muted">–</span>;
  return (
    <a href={BASE + route} onClick={link(route)}>
      {id}
    </a>
  );
}

function FeatureList() {
  const list = usePoll(() => apiGet<FeatureDefinitions>('/api/v1/features'), []);
  const defs = list.data;
  return (
    <section>
      <h1>Features</h1>
      <Freshness polled={list} />
      {defs && defs.feature_views.length === 0 && (
        <p class="muted">
          No feature definitions applied yet (<code>ferry features apply</code>).
        </p>
      )}
      {defs && defs.entities.length > 0 && (
        <>
          <h2>Entities</h2>
          <table class="data" data-testid="entities">
            <thead>
              <tr>
                <th>entity</th>
                <th>join keys</th>
                <th>description</th>
              </tr>
            </thead>
            <tbody>
              {defs.entities.map((e) => (
                <tr data-entity={e.name}>
                  <td>{e.name}</td>
                  <td>
                    {e.join_keys.map((k) => (
                      <span>
                        <code>{k.name}</code> <span class="muted">{k.type}</span>{' '}
                      </span>
                    ))}
                  </td>
                  <td class="muted">{e.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {defs && defs.feature_views.length > 0 && (
        <>
          <h2>Feature views</h2>
          <div class="scroll">
            <table class="data" data-testid="feature-views">
              <thead>
                <tr>
                  <th>view</th>
                  <th>entities</th>
                  <th class="num">features</th>
                  <th>source</th>
                  <th>resolves to</th>
                  <th>TTL</th>
                  <th>online</th>
                  <th>newest event</th>
                  <th>last materialized (UTC)</th>
                  <th class="num">keys</th>
                </tr>
              </thead>
              <tbody>
                {defs.feature_views.map((v) => (
                  <tr data-view={v.name}>
                    <td>
                      <a href={`${BASE}features/${enc(v.name)}`} onClick={link(`features/${enc(v.name)}`)}>
                        {v.name}
                      </a>
                    </td>
                    <td>{v.entities.join(', ')}</td>
                    <td class="num" data-col="features">
                      {v.features.length}
                    </td>
                    <td>
                      <code>{v.source}</code>
                    </td>
                    <td data-col="source-version">
                      <SourceVersion id={v.source_version} />
                    </td>
                    <td class="nowrap">{ttl(v.ttl_seconds)}</td>
                    <td>{v.online ? <span class="badge good">online</span> : <span class="badge neutral">offline</span>}</td>
                    <td class="nowrap" data-col="freshness" title={`${fmtTime(v.newest_event)} UTC`}>
                      {age(v)}
                    </td>
                    <td class="nowrap">{fmtTime(v.last_materialization?.materialized_at)}</td>
                    <td class="num" data-col="keys-written">
                      {v.last_materialization ? fmtInt(v.last_materialization.keys_written) : '–'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {defs && defs.feature_services.length > 0 && (
        <>
          <h2>Feature services</h2>
          <table class="data" data-testid="feature-services">
            <thead>
              <tr>
                <th>service</th>
                <th>features</th>
                <th>description</th>
              </tr>
            </thead>
            <tbody>
              {defs.feature_services.map((s) => (
                <tr data-service={s.name}>
                  <td>{s.name}</td>
                  <td class="tags">
                    {s.features.map((f) => (
                      <code>{f} </code>
                    ))}
                  </td>
                  <td class="muted">{s.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function ViewDetail({ name }: { name: string }) {
  const view = usePoll(() => apiGet<FeatureView>(`/api/v1/features/views/${enc(name)}`), [name]);
  const v = view.data;
  const m = v?.last_materialization;
  return (
    <section>
      <DetailHeader listRoute="features" listTitle="Features" name={name} polled={view} />
      {v && (
        <>
          {v.description && <p>{v.description}</p>}
          {v.status_error && <p class="error">{v.status_error}</p>}
          <dl class="facts" data-testid="view-facts">
            <dt>entities</dt>
            <dd>{v.entities.join(', ')}</dd>
            <dt>source</dt>
            <dd>
              <code>{v.source}</code> → <SourceVersion id={v.source_version} />
            </dd>
            <dt>timestamp field</dt>
            <dd>
              <code>{v.timestamp_field}</code>
            </dd>
            <dt>TTL</dt>
            <dd>{ttl(v.ttl_seconds)}</dd>
            <dt>online</dt>
            <dd>{v.online ? 'yes' : 'no'}</dd>
            <dt>newest event</dt>
            <dd>
              {fmtTime(v.newest_event)} UTC ({age(v)})
            </dd>
            <dt>last materialization</dt>
            <dd data-testid="last-materialization">
              {m
                ? `${fmtTime(m.materialized_at)} UTC: ${fmtInt(m.keys_written)} keys written, ${fmtInt(m.keys_kept)} kept, ` +
                  `${fmtInt(m.rows_in_window)} rows in ${fmtTime(m.window_start)} – ${fmtTime(m.window_end)}`
                : 'never'}
            </dd>
          </dl>
          <div class="columns">
            <div>
              <h2>Features ({v.features.length})</h2>
              <table class="data" data-testid="view-features">
                <tbody>
                  {v.features.map((f) => (
                    <tr data-feature={f.name}>
                      <td>{f.name}</td>
                      <td class="muted">{f.type}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div>
              <h2>Training sets made from it ({v.consumers?.length ?? 0})</h2>
              {(v.consumers ?? []).length === 0 ? (
                <p class="muted">none yet</p>
              ) : (
                <ul data-testid="consumers">
                  {(v.consumers ?? []).map((c) => {
                    const route = lineageRoute(c.kind, c.id);
                    return (
                      <li data-id={c.id}>
                        {route ? (
                          <a href={BASE + route} onClick={link(route)}>
                            {c.id}
                          </a>
                        ) : (
                          c.id
                        )}{' '}
                        <span class="muted">{c.kind.replace('_', ' ')}</span>
                      </li>
                    );
                  })}
                </ul>
              )}
            </div>
          </div>
        </>
      )}
    </section>
  );
}
