// The shell: header (workspace, pages), the token form when the API asks for one, and
// the page of the current route.
import { useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { apiGet, getToken, onAuthRequired, setToken, type Workspace } from './api';
import { usePoll, type Polled } from './poll';
import { BASE, navigate, useRoute } from './router';
import { OverviewPage } from './pages/overview';
import { RunsPage } from './pages/runs';
import { DatasetsPage } from './pages/datasets';
import { ModelsPage } from './pages/models';
import { DeploymentsPage } from './pages/deployments';
import { AlertsPage } from './pages/alerts';
import { FeaturesPage } from './pages/features';
import { PipelinesPage } from './pages/pipelines';

interface Page {
  route: string;
  title: string;
  render: () => ComponentChildren;
}

const PAGES: Page[] = [
  { route: '', title: 'Overview', render: () => <OverviewPage /> },
  { route: 'datasets', title: 'Datasets', render: () => <DatasetsPage /> },
  { route: 'features', title: 'Features', render: () => <FeaturesPage /> },
  { route: 'runs', title: 'Runs', render: () => <RunsPage /> },
  { route: 'models', title: 'Models', render: () => <ModelsPage /> },
  { route: 'pipelines', title: 'Pipelines', render: () => <PipelinesPage /> },
  { route: 'deployments', title: 'Deployments', render: () => <DeploymentsPage /> },
  { route: 'alerts', title: 'Alerts', render: () => <AlertsPage /> },
];

export function App() {
  const [route] = useRoute();
  const [needToken, setNeedToken] = useState(false);
  const [epoch, setEpoch] = useState(0); // bumped when the token changes: pages reload
  useEffect(() => onAuthRequired(() => setNeedToken(true)), []);
  const workspace = usePoll(() => apiGet<Workspace>('/api/v1/workspace'), [epoch], 60000);
  const page = PAGES.find((p) => p.route === route.split('/')[0]);
  useEffect(() => {
    document.title = page ? `${page.title} · ferry` : 'ferry';
  }, [page]);

  return (
    <>
      <header class="top">
        <a class="brand" href={BASE} onClick={link('')}>
          ferry
        </a>
        <nav>
          {PAGES.map((p) => (
            <a
              href={BASE + p.route}
              class={page === p ? 'active' : ''}
              aria-current={page === p ? 'page' : undefined}
              onClick={link(p.route)}
            >
              {p.title}
            </a>
          ))}
        </nav>
        <WorkspaceBadge polled={workspace} />
        {getToken() && (
          <button
            class="link"
            onClick={() => {
              setToken(null);
              setEpoch((e) => e + 1);
            }}
          >
            forget token
          </button>
        )}
      </header>
      <main>
        {needToken ? (
          <TokenForm
            onSubmit={(token) => {
              setToken(token);
              setNeedToken(false);
              setEpoch((e) => e + 1);
            }}
          />
        ) : page ? (
          <div key={epoch}>{page.render()}</div>
        ) : (
          <section>
            <h1>Not found</h1>
            <p>
              There is no page <code>/ui/{route}</code>. <a href={BASE} onClick={link('')}>Overview</a>
            </p>
          </section>
        )}
      </main>
    </>
  );
}

export function link(route: string) {
  return (e: MouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(route);
  };
}

function WorkspaceBadge({ polled }: { polled: Polled<Workspace> }) {
  const ws = polled.data;
  if (!ws) return <span class="workspace muted">{polled.error ? 'workspace: –' : 'connecting…'}</span>;
  return (
    <span class="workspace" data-testid="workspace" title={`created ${ws.created_at}`}>
      workspace <code>{ws.workspace_id.slice(0, 12)}</code> · {ws.metadata} · ferry {ws.ferry_version}
    </span>
  );
}

function TokenForm({ onSubmit }: { onSubmit: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <section class="token-form">
      <h1>API token needed</h1>
      <p>
        This server requires a token (<code>server.auth: on</code>). Create one with{' '}
        <code>ferry token create NAME --scope read</code> and paste it here. It is kept in this
        tab only (sessionStorage) and sent as an <code>Authorization</code> header.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSubmit(value.trim());
        }}
      >
        <label>
          Token{' '}
          <input
            type="password"
            name="token"
            autocomplete="off"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>{' '}
        <button type="submit">Use token</button>
      </form>
    </section>
  );
}

// "refreshed 12:00:05 · every 5 s" and the last error, under each page's title.
export function Freshness({ polled }: { polled: Polled<unknown> }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = window.setInterval(() => tick((v) => v + 1), 1000);
    return () => window.clearInterval(t);
  }, []);
  const at = polled.refreshedAt;
  return (
    <p class="freshness" data-testid="freshness">
      {at ? (
        <>
          refreshed {at.toLocaleTimeString('en-GB')} ({Math.round((Date.now() - at.getTime()) / 1000)} s
          ago), every 5 s while visible
        </>
      ) : polled.error ? (
        'not loaded'
      ) : (
        'loading…'
      )}
      {polled.error && (
        <span class="error" role="alert" data-testid="fetch-error">
          {' '}
          · {polled.error.status === 403 ? 'forbidden: ' : ''}
          {polled.error.message}
        </span>
      )}
    </p>
  );
}
