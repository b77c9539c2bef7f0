// Models: the registry's models; one model's versions (run, metrics, status, who
// registered it), its aliases and their history; a version's signature, metrics,
// reference dataset and upstream lineage drawn as a graph down to the dataset hashes.
import {
  apiGet,
  enc,
  type LineageGraph,
  type Model,
  type ModelSummary,
  type ModelVersion,
} from '../api';
import { Freshness, link } from '../app';
import { fmtBytes, fmtInt, fmtMetric, fmtTime, fmtVersion } from '../format';
import { LineageSvg, lineageRoute } from '../lineage';
import { DetailHeader, VersionLink, keysOf, routeItem, showVersion } from './common';
import { usePoll } from '../poll';
import { BASE, useRoute } from '../router';

export function ModelsPage() {
  const [route] = useRoute();
  const name = routeItem(route);
  // Keyed by name: another item starts with fresh local state (chosen version, open log).
  return name !== null ? <ModelDetail key={name} name={name} /> : <ModelList />;
}

function Aliases({ aliases }: { aliases: Record<string, number> }) {
  return (
    <>
      {Object.entries(aliases).map(([a, v]) => (
        <span class="badge good" title={`${a} → v${v}`}>
          {a} → v{v}
        </span>
      ))}
    </>
  );
}

function ModelList() {
  const list = usePoll(() => apiGet<{ models: ModelSummary[] }>('/api/v1/models'), []);
  const models = list.data?.models ?? [];
  return (
    <section>
      <h1>Models</h1>
      <Freshness polled={list} />
      {list.data && models.length === 0 && <p class="muted">No registered models yet.</p>}
      {models.length > 0 && (
        <table class="data" data-testid="models">
          <thead>
            <tr>
              <th>model</th>
              <th class="num">versions</th>
              <th class="num">latest</th>
              <th>aliases</th>
              <th>created (UTC)</th>
              <th>updated (UTC)</th>
              <th>description</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr data-model={m.name}>
                <td>
                  <a href={`${BASE}models/${enc(m.name)}`} onClick={link(`models/${enc(m.name)}`)}>
                    {m.name}
                  </a>
                </td>
                <td class="num" data-col="versions">
                  {fmtInt(m.versions)}
                </td>
                <td class="num">{fmtVersion(m.latest_version)}</td>
                <td class="tags">
                  <Aliases aliases={m.aliases} />
                </td>
                <td class="nowrap">{fmtTime(m.created_at)}</td>
                <td class="nowrap">{fmtTime(m.updated_at)}</td>
                <td class="muted">{m.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function runLink(runId: string) {
  const route = lineageRoute('run', runId)!;
  return (
    <a href={BASE + route} onClick={link(route)}>
      <code>{runId.slice(0, 8)}</code>
    </a>
  );
}

function ModelDetail({ name }: { name: string }) {
  const [, query] = useRoute();
  const model = usePoll(() => apiGet<Model>(`/api/v1/models/${enc(name)}`), [name]);
  const m = model.data;
  const versions = [...(m?.model_versions ?? [])].sort((a, b) => b.version - a.version);
  const chosen = Number(query.get('version')) || m?.latest_version || null;
  const metricKeys = keysOf(versions.map((v) => v.metrics));
  return (
    <section>
      <DetailHeader listRoute="models" listTitle="Models" name={name} polled={model} />
      {m && (
        <>
          {m.description && <p>{m.description}</p>}
          <h2>Versions</h2>
          <div class="scroll">
            <table class="data" data-testid="model-versions">
              <thead>
                <tr>
                  <th class="num">version</th>
                  <th>aliases</th>
                  <th>status</th>
                  <th>flavor</th>
                  <th>run</th>
                  <th>registered (UTC)</th>
                  <th>by</th>
                  {metricKeys.map((k) => (
                    <th class="num">{k}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr data-version={v.version} class={v.version === chosen ? 'current' : ''}>
                    <td class="num">
                      <VersionLink version={v.version} onShow={(x) => showVersion(x)} />
                    </td>
                    <td class="tags">
                      {v.aliases.map((a) => (
                        <span class="badge good">{a}</span>
                      ))}
                    </td>
                    <td>
                      <span class={`status status-${v.status === 'READY' ? 'finished' : 'running'}`}>{v.status}</span>
                    </td>
                    <td>{v.flavor}</td>
                    <td>{v.run_id ? runLink(v.run_id) : '–'}</td>
                    <td class="nowrap">{fmtTime(v.created_at)}</td>
                    <td class="nowrap">{v.created_by}</td>
                    {metricKeys.map((k) => (
                      <td class="num">{fmtMetric(v.metrics[k])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="columns">
            <div>
              <h2>Aliases</h2>
              {Object.keys(m.aliases).length === 0 ? (
                <p class="muted">none</p>
              ) : (
                <table class="data" data-testid="aliases">
                  <tbody>
                    {Object.entries(m.aliases).map(([a, v]) => (
                      <tr data-alias={a}>
                        <th>{a}</th>
                        <td class="num">v{v}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
            <div>
              <h2>Alias history</h2>
              {m.alias_history.length === 0 ? (
                <p class="muted">none</p>
              ) : (
                <table class="data" data-testid="alias-history">
                  <thead>
                    <tr>
                      <th>when (UTC)</th>
                      <th>alias</th>
                      <th class="num">from</th>
                      <th class="num">to</th>
                      <th>by</th>
                      <th>reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...m.alias_history].reverse().map((h) => (
                      <tr>
                        <td class="nowrap">{fmtTime(h.at)}</td>
                        <td>{h.alias}</td>
                        <td class="num">{h.previous_version === null ? '–' : `v${h.previous_version}`}</td>
                        <td class="num">{h.version === null ? 'removed' : `v${h.version}`}</td>
                        <td>{h.actor}</td>
                        <td class="muted">{h.reason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
          {chosen !== null && <VersionDetail name={name} version={chosen} />}
        </>
      )}
    </section>
  );
}

function VersionDetail({ name, version }: { name: string; version: number }) {
  const loaded = usePoll(
    () =>
      Promise.all([
        apiGet<ModelVersion>(`/api/v1/models/${enc(name)}/versions/${version}`),
        apiGet<LineageGraph>(`/api/v1/models/${enc(name)}/versions/${version}/lineage?direction=upstream`),
      ]),
    [name, version],
    15000,
  );
  const [v, graph] = loaded.data ?? [];
  const reference = v?.reference?.dataset_version;
  const referenceRoute = reference ? lineageRoute('dataset_version', reference) : null;
  return (
    <section class="panel" data-testid="model-version">
      <header>
        <h2>
          {name} v{version}
        </h2>
      </header>
      {loaded.error && <p class="error">{loaded.error.message}</p>}
      {v && (
        <>
          <dl class="facts">
            <dt>status</dt>
            <dd>{v.status}</dd>
            <dt>flavor</dt>
            <dd>{v.flavor}</dd>
            <dt>artifact</dt>
            <dd>
              {fmtBytes(v.artifact_size)} <code class="sha">{v.artifact_digest.slice(0, 16)}</code>
            </dd>
            <dt>run</dt>
            <dd>{v.run_id ? runLink(v.run_id) : '–'}</dd>
            <dt>registered</dt>
            <dd>
              {fmtTime(v.created_at)} UTC by {v.created_by}
            </dd>
            <dt>reference dataset</dt>
            <dd data-testid="reference">
              {reference && referenceRoute ? (
                <a href={BASE + referenceRoute} onClick={link(referenceRoute)}>
                  {reference}
                </a>
              ) : (
                '–'
              )}
            </dd>
            {v.signature?.feature_service && (
              <>
                <dt>feature service</dt>
                <dd>{v.signature.feature_service}</dd>
              </>
            )}
          </dl>
          <div class="columns">
            <div>
              <h3>Signature inputs ({v.signature?.inputs.length ?? 0})</h3>
              <SignatureTable fields={v.signature?.inputs ?? []} testId="signature-inputs" />
            </div>
            <div>
              <h3>Signature outputs ({v.signature?.outputs.length ?? 0})</h3>
              <SignatureTable fields={v.signature?.outputs ?? []} testId="signature-outputs" />
            </div>
            <div>
              <h3>Metrics</h3>
              <table class="data kv" data-testid="version-metrics">
                <tbody>
                  {Object.entries(v.metrics).map(([k, x]) => (
                    <tr>
                      <th>{k}</th>
                      <td class="num">{fmtMetric(x)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        </>
      )}
      {graph && (
        <>
          <h3>
            Lineage (upstream): {graph.nodes.length} nodes, {graph.edges.length} edges
            {graph.truncated ? ' (truncated)' : ''}
          </h3>
          <LineageSvg graph={graph} testId="model-lineage" />
        </>
      )}
    </section>
  );
}

function SignatureTable({ fields, testId }: { fields: { name: string; type: string }[]; testId: string }) {
  if (fields.length === 0) return <p class="muted">none recorded</p>;
  return (
    <table class="data" data-testid={testId}>
      <tbody>
        {fields.map((f) => (
          <tr>
            <td>{f.name}</td>
            <td class="muted">{f.type}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
