// Pipelines: the applied pipelines (triggers, last run); one pipeline's steps drawn as a
// DAG, its params, triggers and runs; one run (?run=ID): the DAG with each step colored
// by its state, attempts, notes and errors, and a step's logs from its tracking run.
import { useState } from 'preact/hooks';
import {
  apiGet,
  apiGetText,
  enc,
  type Pipeline,
  type PipelineRun,
  type PipelineStepRun,
  type PipelineSummary,
  type PipelineTrigger,
  type Run,
} from '../api';
import { Freshness, link } from '../app';
import { edgeCurve, layoutDag, placeDag, type DagBox } from '../dag';
import { fmtDuration, fmtTime, runSeconds } from '../format';
import { DagFrame, EdgePath } from '../lineage';
import { DetailHeader, routeItem } from './common';
import { usePoll } from '../poll';
import { BASE, setQuery, useRoute } from '../router';

export function PipelinesPage() {
  const [route] = useRoute();
  const name = routeItem(route);
  // Keyed by name: another item starts with fresh local state (chosen version, open log).
  return name !== null ? <PipelineDetail key={name} name={name} /> : <PipelineList />;
}

// A run's or a step's state as a colored badge (the same colors as the DAG's nodes).
const STATE_CLASS: Record<string, string> = {
  succeeded: 'good',
  cached: 'cached',
  failed: 'bad',
  cancelled: 'bad',
  running: 'warn',
  queued: 'warn',
  pending: 'neutral',
  skipped: 'neutral',
};

function State({ state }: { state: string }) {
  return <span class={`badge ${STATE_CLASS[state] ?? 'neutral'}`}>{state}</span>;
}

function Triggers({ triggers }: { triggers: PipelineTrigger[] }) {
  return (
    <>
      {triggers.map((t) => (
        <span class="badge neutral" title={`${t.kind} ${t.value}`}>
          {t.kind}
          {t.value ? `: ${t.value}` : ''}
        </span>
      ))}
    </>
  );
}

function runLink(pipeline: string, run: PipelineRun) {
  const route = `pipelines/${enc(pipeline)}?run=${enc(run.id)}`;
  return (
    <a href={BASE + route} onClick={link(route)}>
      #{run.number}
    </a>
  );
}

function PipelineList() {
  const list = usePoll(() => apiGet<{ pipelines: PipelineSummary[] }>('/api/v1/pipelines'), []);
  const pipelines = list.data?.pipelines ?? [];
  return (
    <section>
      <h1>Pipelines</h1>
      <Freshness polled={list} />
      {list.data && pipelines.length === 0 && (
        <p class="muted">
          No pipelines applied yet (<code>ferry pipeline apply FILE</code>).
        </p>
      )}
      {pipelines.length > 0 && (
        <table class="data" data-testid="pipelines">
          <thead>
            <tr>
              <th>pipeline</th>
              <th>triggers</th>
              <th>last run</th>
              <th>state</th>
              <th>started (UTC)</th>
              <th>by</th>
              <th>applied (UTC)</th>
              <th>source</th>
            </tr>
          </thead>
          <tbody>
            {pipelines.map((p) => (
              <tr data-pipeline={p.name}>
                <td>
                  <a href={`${BASE}pipelines/${enc(p.name)}`} onClick={link(`pipelines/${enc(p.name)}`)}>
                    {p.name}
                  </a>
                </td>
                <td class="tags">
                  <Triggers triggers={p.triggers} />
                </td>
                <td>{p.last_run ? runLink(p.name, p.last_run) : '–'}</td>
                <td data-col="state">{p.last_run ? <State state={p.last_run.state} /> : <span class="muted">never run</span>}</td>
                <td class="nowrap">{fmtTime(p.last_run?.started_at ?? p.last_run?.created_at)}</td>
                <td>{p.last_run?.actor ?? ''}</td>
                <td class="nowrap">{fmtTime(p.applied_at)}</td>
                <td>
                  <code>{p.source}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PipelineDetail({ name }: { name: string }) {
  const [, query] = useRoute();
  const loaded = usePoll(
    () =>
      Promise.all([
        apiGet<Pipeline>(`/api/v1/pipelines/${enc(name)}`),
        apiGet<{ runs: PipelineRun[] }>(`/api/v1/pipelines/${enc(name)}/runs?limit=50`),
      ]),
    [name],
  );
  const [p, runList] = loaded.data ?? [];
  const runs = runList?.runs ?? [];
  const chosen = query.get('run');
  return (
    <section>
      <DetailHeader listRoute="pipelines" listTitle="Pipelines" name={name} polled={loaded} />
      {p && (
        <>
          {p.description && <p>{p.description}</p>}
          <dl class="facts">
            <dt>source</dt>
            <dd>
              <code>{p.source}</code>
            </dd>
            <dt>applied</dt>
            <dd>
              {fmtTime(p.applied_at)} UTC by {p.applied_by}
            </dd>
            <dt>triggers</dt>
            <dd class="tags" data-testid="triggers">
              <Triggers triggers={p.triggers} />
            </dd>
            <dt>params</dt>
            <dd data-testid="params">
              {Object.keys(p.params).length === 0
                ? 'none'
                : Object.entries(p.params).map(([k, v]) => (
                    <span>
                      <code>
                        {k}={typeof v === 'string' ? v : JSON.stringify(v)}
                      </code>{' '}
                    </span>
                  ))}
            </dd>
          </dl>
          {chosen ? (
            <RunDetail pipeline={p} id={chosen} />
          ) : (
            <>
              <h2>Steps ({p.steps.length})</h2>
              <StepDag pipeline={p} testId="pipeline-dag" />
            </>
          )}
          <h2>Runs</h2>
          {runs.length === 0 ? (
            <p class="muted">No runs yet.</p>
          ) : (
            <table class="data" data-testid="pipeline-runs">
              <thead>
                <tr>
                  <th class="num">run</th>
                  <th>state</th>
                  <th>trigger</th>
                  <th>by</th>
                  <th>started (UTC)</th>
                  <th>ended (UTC)</th>
                  <th class="num">took</th>
                  <th>error</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr data-run={r.id} class={r.id === chosen ? 'current' : ''}>
                    <td class="num">{runLink(name, r)}</td>
                    <td data-col="state">
                      <State state={r.state} />
                    </td>
                    <td title={r.trigger_detail}>{r.trigger}</td>
                    <td>{r.actor}</td>
                    <td class="nowrap">{fmtTime(r.started_at ?? r.created_at)}</td>
                    <td class="nowrap">{fmtTime(r.ended_at)}</td>
                    <td class="num nowrap">{r.started_at ? fmtDuration(runSeconds(r.started_at, r.ended_at)) : '–'}</td>
                    <td class="error">{r.error}</td>
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

const BOX: DagBox = { nodeW: 150, nodeH: 50, gapX: 56, gapY: 18, pad: 12 };

const STATE_FILL: Record<string, string> = {
  succeeded: '#dcf1e3',
  cached: '#dde8f8',
  failed: '#fbe0de',
  cancelled: '#fbe0de',
  running: '#fff0c2',
  queued: '#fff6dc',
  skipped: '#eceff2',
};

// The steps left to right by depends_on; with a run, each step filled by its state.
function StepDag({
  pipeline,
  run,
  selected,
  onSelect,
  testId,
}: {
  pipeline: Pipeline;
  run?: PipelineRun;
  selected?: string | null;
  onSelect?: (step: string) => void;
  testId: string;
}) {
  const ids = pipeline.steps.map((s) => s.id);
  const edges = pipeline.steps.flatMap((s) => s.depends_on.map((d) => ({ from: d, to: s.id })));
  const layout = layoutDag(ids, edges);
  const { width, height, place } = placeDag(layout, BOX);
  const states = new Map((run?.steps ?? []).map((s) => [s.step, s]));
  return (
    <DagFrame
      class="lineage pipeline-dag"
      testId={testId}
      width={width}
      height={height}
      label={`steps of ${pipeline.name}: ${ids.length} steps, ${edges.length} dependencies`}
      arrowId="step-arrow"
    >
      {edges.map((e) => (
        <EdgePath class="edge" d={edgeCurve(place.get(e.from)!, place.get(e.to)!, BOX, 24).d} arrowId="step-arrow" />
      ))}
      {pipeline.steps.map((step) => {
        const p = place.get(step.id)!;
        const s = states.get(step.id);
        const state = s?.state ?? (run ? 'pending' : '');
        const extra = s
          ? `${state}${s.cached_from ? ' (cache)' : ''}${s.attempts > 1 ? ` · ${s.attempts} attempts` : ''}`
          : step.uses ?? 'run';
        return (
          <g
            class={`node${selected === step.id ? ' root' : ''}${onSelect ? ' clickable' : ''}`}
            data-id={step.id}
            data-state={state || undefined}
            onClick={onSelect ? () => onSelect(step.id) : undefined}
          >
            <title>
              {step.id}: {step.uses ?? step.run ?? ''}
              {s?.note ? `\n${s.note}` : ''}
            </title>
            <rect
              x={p.x}
              y={p.y}
              width={BOX.nodeW}
              height={BOX.nodeH}
              rx="5"
              fill={STATE_FILL[state] ?? '#fff'}
              stroke={selected === step.id ? '#1f5fbf' : '#8a949e'}
              stroke-width={selected === step.id ? 2 : 1.2}
            />
            <text x={p.x + 8} y={p.y + 14} class="node-kind" fill="#555">
              {step.uses ? step.uses : 'script'}
            </text>
            <text x={p.x + 8} y={p.y + 30} class="node-id">
              {step.id}
            </text>
            <text x={p.x + 8} y={p.y + 44} class="node-extra">
              {extra}
            </text>
          </g>
        );
      })}
    </DagFrame>
  );
}

function RunDetail({ pipeline, id }: { pipeline: Pipeline; id: string }) {
  const [, query] = useRoute();
  const loaded = usePoll(() => apiGet<PipelineRun>(`/api/v1/pipeline-runs/${enc(id)}`), [id]);
  const run = loaded.data;
  const step = query.get('step');
  const select = (s: string) => {
    setQuery({ step: s });
    window.dispatchEvent(new Event('ferry:navigate'));
  };
  const chosen = run?.steps.find((s) => s.step === step) ?? null;
  return (
    <section class="panel" data-testid="pipeline-run">
      <header>
        <h2>
          Run #{run?.number ?? ''} <code class="sha">{id.slice(0, 12)}</code>{' '}
          {run && (
            <span data-testid="run-state">
              <State state={run.state} />
            </span>
          )}
        </h2>
        <p>
          <a href={`${BASE}pipelines/${enc(pipeline.name)}`} onClick={link(`pipelines/${enc(pipeline.name)}`)}>
            all steps, no run
          </a>
        </p>
      </header>
      {loaded.error && <p class="error">{loaded.error.message}</p>}
      {run && (
        <>
          <dl class="facts">
            <dt>trigger</dt>
            <dd>
              {run.trigger} {run.trigger_detail && <span class="muted">({run.trigger_detail})</span>}
            </dd>
            <dt>by</dt>
            <dd>{run.actor}</dd>
            <dt>times</dt>
            <dd>
              {fmtTime(run.started_at ?? run.created_at)} – {fmtTime(run.ended_at)} UTC
              {run.started_at && run.ended_at ? ` (${fmtDuration(runSeconds(run.started_at, run.ended_at))})` : ''}
            </dd>
            <dt>params</dt>
            <dd>
              {Object.entries(run.params).map(([k, v]) => (
                <code>
                  {k}={v}{' '}
                </code>
              ))}
            </dd>
            {run.error && (
              <>
                <dt>error</dt>
                <dd class="error">{run.error}</dd>
              </>
            )}
          </dl>
          <p class="muted">Click a step for its logs.</p>
          <StepDag pipeline={pipeline} run={run} selected={step} onSelect={select} testId="run-dag" />
          <h3>Steps</h3>
          <table class="data" data-testid="run-steps">
            <thead>
              <tr>
                <th>step</th>
                <th>state</th>
                <th class="num">attempts</th>
                <th class="num">took</th>
                <th>note</th>
              </tr>
            </thead>
            <tbody>
              {run.steps.map((s) => (
                <tr data-step={s.step} data-state={s.state} class={s.step === step ? 'current' : ''}>
                  <td>
                    <a
                      href={`?run=${enc(id)}&step=${enc(s.step)}`}
                      onClick={(e) => {
                        e.preventDefault();
                        select(s.step);
                      }}
                    >
                      {s.step}
                    </a>
                  </td>
                  <td>
                    <State state={s.state} />
                    {s.cached_from && (
                      <span class="muted">
                        {' '}
                        from run <code>{s.cached_from.slice(0, 8)}</code>
                      </span>
                    )}
                  </td>
                  <td class="num">{s.attempts}</td>
                  <td class="num nowrap">{s.started_at ? fmtDuration(runSeconds(s.started_at, s.ended_at)) : '–'}</td>
                  <td>
                    {s.error && <span class="error">{s.error} </span>}
                    <span class="muted">{s.note}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {chosen && <StepLogs key={`${chosen.step}@${chosen.tracking_run}`} step={chosen} />}
        </>
      )}
    </section>
  );
}

const LOG_PATH = /^logs\/(stdout|stderr)\.\d+\.txt$/;

// A step's stdout and stderr per attempt, artifacts of its tracking run.
function StepLogs({ step }: { step: PipelineStepRun }) {
  const [open, setOpen] = useState<string | null>(null);
  const artifacts = usePoll(
    () =>
      step.tracking_run
        ? apiGet<Run>(`/api/v1/runs/${enc(step.tracking_run)}`)
        : Promise.resolve(null),
    [step.tracking_run],
    15000,
  );
  // By attempt (stdout.10 after stdout.2), stdout before stderr within one.
  const attempt = (p: string) => Number(p.split('.')[1]);
  const logs = (artifacts.data?.artifacts ?? [])
    .map((a) => a.path)
    .filter((p) => LOG_PATH.test(p))
    .sort((a, b) => attempt(a) - attempt(b) || (a.includes('stdout') ? -1 : 1) - (b.includes('stdout') ? -1 : 1));
  const text = usePoll(
    () =>
      open ? apiGetText(`/api/v1/runs/${enc(step.tracking_run)}/artifacts?path=${enc(open)}`) : Promise.resolve(null),
    [step.tracking_run, open],
    15000,
  );
  return (
    <section data-testid="step-logs">
      <h3>Logs of {step.step}</h3>
      {artifacts.error && <p class="error">{artifacts.error.message}</p>}
      {artifacts.data !== undefined && logs.length === 0 && (
        <p class="muted" data-testid="no-logs">
          No logs: a built-in step{step.cached_from ? ' or a cached one' : ''} writes none.
        </p>
      )}
      <p class="tags">
        {logs.map((p) => (
          <button class={`link${open === p ? ' active' : ''}`} data-log={p} onClick={() => setOpen(p)}>
            {p.slice(5)}
          </button>
        ))}
      </p>
      {open && text.error && <p class="error">{text.error.message}</p>}
      {open && text.data !== undefined && text.data !== null && (
        <pre class="log" data-testid="log-text">
          {text.data || '(empty)'}
        </pre>
      )}
    </section>
  );
}
