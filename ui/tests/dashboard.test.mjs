// Browser tests of the dashboard: a real `ferry server` on a demo workspace, the pages
// opened in Debian's headless Chromium through playwright-core, what they show checked
// against the API's JSON, no console errors or failed requests, screenshots saved.
//
// Usage: node tests/dashboard.test.mjs pages|auth
//   FERRY_BIN        the ferry binary (CTest passes it)
//   FERRY_UI_OUT     folder for screenshots and logs (default: a temporary folder)
//   CHROMIUM         the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const suite = process.argv[2];
const ferry = process.env.FERRY_BIN;
if (!ferry || !['pages', 'auth'].includes(suite)) {
  console.error('usage: FERRY_BIN=PATH node tests/dashboard.test.mjs pages|auth');
  process.exit(2);
}
const out = process.env.FERRY_UI_OUT || mkdtempSync(join(tmpdir(), 'ferry-ui-out-'));
mkdirSync(out, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'ferry-ui-test-'));
const cleanups = [];

function log(...args) {
  console.log(`[ui ${suite}]`, ...args);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startServer(workspace) {
  const port = await freePort();
  const logFile = join(out, `server-${suite}-${port}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(ferry, ['server', '--listen', `127.0.0.1:${port}`], {
    cwd: workspace,
    stdio: ['ignore', fd, fd],
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  cleanups.push(stop);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`ferry server exited ${child.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { base, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ferry server did not become ready; see ${logFile}`);
}

async function api(base, path, { token, body } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  cleanups.push(() => browser.close());
  return browser;
}

const inFlight = new WeakMap(); // page -> its requests not yet finished
const requestCount = new WeakMap(); // page -> requests made

// A page whose console errors, page errors and failed requests are collected; `allow`
// lets a test accept the answers it expects (the 401 before a token is given).
async function watchedPage(browser, allow = () => false) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  const pending = new Set();
  inFlight.set(page, pending);
  page.on('request', (r) => {
    pending.add(r);
    requestCount.set(page, (requestCount.get(page) ?? 0) + 1);
  });
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allow(`${r.status()} ${r.url()}`)) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, problems };
}

// A reload once the page's requests have ended: one still in flight when the page goes
// away is aborted, and would count as a failed request. (Not waitForLoadState's
// 'networkidle', which a page polling every 5 s may never reach.)
async function reload(page) {
  const pending = inFlight.get(page);
  for (let i = 0; i < 200 && pending.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(pending.size, 0, `requests still in flight: ${[...pending].map((r) => r.url()).join(', ')}`);
  await page.reload();
}

async function shot(page, name) {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  log('screenshot', path);
}

// --- pages: overview and runs on a demo workspace ------------------------------------

async function pagesSuite() {
  const workspace = join(scratch, 'ws');
  log('ferry demo (small world) ...');
  try {
    execFileSync(
      ferry,
      ['demo', '--workspace', workspace, '--customers', '1000', '--merchants', '100', '--history-days', '7', '--live-days', '3'],
      { stdio: ['ignore', openSync(join(out, 'demo.log'), 'w'), openSync(join(out, 'demo.log'), 'a')] },
    );
  } catch (e) {
    // On a world this small the demo's own checks (drift, recovery) may not all pass; the
    // workspace is populated either way, which is all these tests need.
    log(`demo exited ${e.status} (see demo.log); using its workspace`);
  }
  // A pipeline of one command step, whose stdout and stderr the run page shows.
  const logsPipeline = join(scratch, 'ui_logs.yaml');
  writeFileSync(
    logsPipeline,
    [
      'name: ui_logs',
      'description: one command step whose output the run page shows',
      'steps:',
      '  - id: greet',
      `    run: echo "hello from ui_logs"; echo "a warning" >&2`,
      '',
    ].join('\n'),
  );
  execFileSync(ferry, ['pipeline', 'apply', logsPipeline], { cwd: workspace, stdio: 'ignore' });
  const { base } = await startServer(workspace);

  // Live traffic, so throughput and latency are not empty.
  for (let i = 0; i < 30; i++) {
    await api(base, '/v1/models/fraud:predict', {
      body: { instances: [{ transaction_id: `t-ui-${i}`, customer_id: 'c0000042', merchant_id: 'm00007' }] },
    });
  }
  // Three requests the model refuses (a row of the wrong width): the overview's error rate.
  for (let i = 0; i < 3; i++) {
    await assert.rejects(api(base, '/v1/models/fraud:predict', { body: { instances: [[1, 2, 3]] } }),
                         /400/);
  }
  const before = (await api(base, '/api/v1/endpoints/fraud')).traffic;
  assert.equal(before.failed, 3, 'the refused requests are counted as failed');
  assert.equal(before.error_rate, 3 / (before.requests + 3));
  // A retrain whose canary step starts a rollout on the endpoint (waited for later).
  await api(base, '/api/v1/pipelines/fraud_retrain/runs', { body: { actor: 'ui-test' } });
  await api(base, '/api/v1/pipelines/ui_logs/runs', { body: { actor: 'ui-test' } });
  // More runs than one page, with params and metric series, to page through and compare.
  await api(base, '/api/v1/experiments', { body: { name: 'ui-paging' } });
  for (let i = 0; i < 60; i++) {
    const { run } = await api(base, '/api/v1/runs', {
      body: {
        experiment: 'ui-paging',
        name: `trial-${String(i).padStart(2, '0')}`,
        params: { max_depth: String(3 + (i % 4)), eta: '0.1' },
        metrics: [0, 1, 2, 3].map((step) => ({ key: 'auc', value: 0.7 + i / 1000 + step / 100, step })),
      },
    });
    await api(base, `/api/v1/runs/${run.run_id}/status`, { body: { status: 'FINISHED' } });
  }

  const browser = await launch();
  const { page, problems } = await watchedPage(browser);

  // Overview.
  await page.goto(`${base}/ui/`);
  await page.waitForSelector('[data-testid=endpoints] tbody tr');
  await page.waitForSelector('[data-testid=workspace]');
  const workspaceInfo = await api(base, '/api/v1/workspace');
  assert.match(await page.textContent('[data-testid=workspace]'), new RegExp(workspaceInfo.workspace_id.slice(0, 12)));
  const { endpoints } = await api(base, '/api/v1/endpoints');
  assert.ok(endpoints.length > 0, 'the demo deploys an endpoint');
  for (const e of endpoints) {
    const row = page.locator(`tr[data-endpoint="${e.endpoint}"]`);
    assert.equal(await row.count(), 1, `a row for endpoint ${e.endpoint}`);
    const text = await row.textContent();
    assert.ok(text.includes(e.state), `state ${e.state} in: ${text}`);
    assert.ok(text.includes(e.model), `model ${e.model}`);
    assert.equal((await row.locator('[data-col=version]').textContent()).trim(), String(e.version));
    const requests = Number((await row.locator('[data-col=requests]').textContent()).replace(/,/g, ''));
    assert.ok(requests >= 30 && requests <= e.traffic.requests, `requests ${requests} vs API ${e.traffic.requests}`);
    assert.notEqual((await row.locator('[data-col=p99]').textContent()).trim(), '–', 'p99 shown');
    // The error rate as the API has it, in percent (a rollout starting meanwhile may have
    // given the endpoint a new window: then both say none).
    const errors = (await row.locator('[data-col=errors]').textContent()).trim();
    const rate = e.traffic.error_rate;
    assert.equal(errors, rate === null ? '–' : (rate * 100).toFixed(2), `errors ${errors} %`);
    const monitoring = await api(base, `/api/v1/deployments/${e.endpoint}/monitoring`);
    const drifted = await row.locator('[data-col=drift] li').evaluateAll((lis) => lis.map((li) => Number(li.dataset.drifted)));
    assert.deepEqual(drifted, monitoring.models.map((m) => m.drift.features_drifted));
  }
  const { rules } = await api(base, '/api/v1/alerts');
  const firing = rules.flatMap((r) => r.alerts.filter((a) => a.state === 'firing' || a.state === 'pending'));
  if (firing.length === 0) {
    assert.match(await page.textContent('[data-testid=no-alerts]'), new RegExp(`${rules.length} rules? in force`));
  } else {
    assert.equal(await page.locator('[data-testid=alerts] tbody tr').count(), firing.length);
  }
  // The live chart fills from the polls: a second poll within ~5 s, without a reload.
  const first = await page.textContent('[data-testid=freshness]');
  await page.waitForFunction(
    (before) => document.querySelector('[data-testid=freshness]').textContent.split('(')[0] !== before.split('(')[0],
    first,
    { timeout: 12000 },
  );
  assert.equal(await page.locator('[data-testid=chart-throughput] canvas').count(), 1);
  assert.match(await page.textContent('[data-testid=chart-throughput]'), /requests\/s/);
  assert.match(await page.textContent('[data-testid=chart-p99]'), /\(ms\)/);
  await shot(page, 'overview');

  // Runs: the first page of the experiment, as the API orders it.
  await page.click('nav >> text=Runs');
  await page.waitForURL(/\/ui\/runs/);
  await page.selectOption('select[name=experiment]', 'ui-paging');
  await page.waitForSelector('[data-testid=runs] tbody tr');
  const apiPage = await api(base, '/api/v1/runs/search', { body: { experiments: ['ui-paging'], max_results: 50 } });
  const shownIds = () => page.locator('[data-testid=runs] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.run));
  // n rows of the page asked for (while it loads, the previous page's rows stay, marked busy).
  const rowsShown = (n) =>
    page.waitForFunction(
      (k) =>
        document.querySelector('[data-testid=runs]')?.getAttribute('aria-busy') === 'false' &&
        document.querySelectorAll('[data-testid=runs] tbody tr').length === k,
      n,
    );
  await rowsShown(50);
  assert.deepEqual(await shownIds(), apiPage.runs.map((r) => r.info.run_id));
  const headers = await page.locator('[data-testid=runs] thead tr').first().textContent();
  for (const key of ['max_depth', 'eta', 'auc']) assert.ok(headers.includes(key), `column ${key}`);
  // Next page: the rest, from the page token; previous returns.
  await page.click('text=next →');
  await rowsShown(10);
  const second = await api(base, '/api/v1/runs/search', {
    body: { experiments: ['ui-paging'], max_results: 50, page_token: apiPage.next_page_token },
  });
  assert.deepEqual(await shownIds(), second.runs.map((r) => r.info.run_id));
  await page.click('text=← previous');
  await rowsShown(50);
  // A filter and an order, applied by the server.
  await page.fill('input[name=filter]', "params.max_depth = '4'");
  await page.fill('input[name=order_by]', 'metrics.auc DESC');
  await page.click('button:text("Search")');
  const filtered = await api(base, '/api/v1/runs/search', {
    body: { experiments: ['ui-paging'], max_results: 50, filter: "params.max_depth = '4'", order_by: 'metrics.auc DESC' },
  });
  await rowsShown(filtered.runs.length);
  assert.deepEqual(await shownIds(), filtered.runs.map((r) => r.info.run_id));
  await shot(page, 'runs');

  // One run: its params and one chart per metric.
  const target = filtered.runs[0];
  await page.click(`tr[data-run="${target.info.run_id}"] td:nth-child(2) a`);
  await page.waitForSelector('[data-testid=run-detail] [data-testid=run-params]');
  const full = await api(base, `/api/v1/runs/${target.info.run_id}`);
  const paramsText = await page.textContent('[data-testid=run-params]');
  for (const [k, v] of Object.entries(full.params)) assert.ok(paramsText.includes(k) && paramsText.includes(v), `param ${k}`);
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid=run-detail] .chart canvas').length === n,
    Object.keys(full.metrics).length,
  );
  assert.ok(page.url().includes(`run=${target.info.run_id}`));
  await shot(page, 'run-detail');

  // Compare two runs: differing params highlighted, one overlaid chart per metric.
  const [a, b] = filtered.runs;
  await page.check(`tr[data-run="${a.info.run_id}"] input[type=checkbox]`);
  await page.check(`tr[data-run="${b.info.run_id}"] input[type=checkbox]`);
  await page.click('text=compare 2 selected');
  await page.waitForSelector('[data-testid=compare] .chart canvas');
  assert.equal(await page.locator('[data-testid=compare] tr[data-key=auc].differs').count(), a.metrics.auc.value !== b.metrics.auc.value ? 1 : 0);
  assert.equal(await page.locator('[data-testid=compare] tr[data-key=eta].differs').count(), 0);
  const legend = await page.textContent('[data-testid=compare] .chart');
  assert.ok(legend.includes(a.info.name) && legend.includes(b.info.name), 'legend names both runs');
  await shot(page, 'runs-compare');

  // A client-side route reloads.
  await reload(page);
  await page.waitForSelector('[data-testid=runs] tbody tr');

  await datasetsAndModels(base, page);
  await deploymentsAndAlerts(base, page);
  await featuresAndPipelines(base, page);

  assert.deepEqual(problems, [], 'no console errors or failed requests');
  // Polling every 5 s, pages load a few requests each: a render loop refetching would
  // show as hundreds more.
  log(`${requestCount.get(page)} requests`);
  assert.ok(requestCount.get(page) < 400, `${requestCount.get(page)} requests`);
}

// Datasets and models: lists, a dataset's versions, profile, diff and lineage, a model's
// versions, aliases and its lineage graph, each checked against the API's JSON.
async function datasetsAndModels(base, page) {
  const rowKeys = (selector, key) =>
    page.locator(`${selector} tbody tr`).evaluateAll((trs, k) => trs.map((tr) => tr.dataset[k]), key);

  // Datasets list.
  await page.click('nav >> text=Datasets');
  await page.waitForURL(/\/ui\/datasets$/);
  await page.waitForSelector('[data-testid=datasets] tbody tr');
  const { datasets } = await api(base, '/api/v1/datasets');
  assert.ok(datasets.length > 0, 'the demo adds datasets');
  assert.deepEqual(await rowKeys('[data-testid=datasets]', 'dataset'), datasets.map((d) => d.name));
  for (const d of datasets) {
    const row = page.locator(`tr[data-dataset="${d.name}"]`);
    assert.equal((await row.locator('[data-col=versions]').textContent()).trim(), String(d.versions));
    assert.equal((await row.locator('[data-col=rows]').textContent()).trim(), d.latest.rows.toLocaleString('en-US'));
  }
  await shot(page, 'datasets');

  // The dataset with the most versions: its versions, newest first, and the latest's profile.
  const many = [...datasets].sort((a, b) => b.versions - a.versions)[0];
  assert.ok(many.versions >= 2, 'a dataset with versions to compare');
  await page.click(`tr[data-dataset="${many.name}"] a`);
  await page.waitForSelector('[data-testid=versions] tbody tr');
  const { versions } = await api(base, `/api/v1/datasets/${many.name}/versions`);
  assert.deepEqual(await rowKeys('[data-testid=versions]', 'version'), versions.map((v) => String(v.version)));
  await page.waitForSelector('[data-testid=profile-columns] tbody tr');
  const profile = await api(base, `/api/v1/datasets/${many.name}/versions/${versions[0].version}/profile`);
  assert.deepEqual(await rowKeys('[data-testid=profile-columns]', 'column'), profile.profile.columns.map((c) => c.name));
  const withHistogram = profile.profile.columns.filter((c) => c.histogram);
  assert.ok(withHistogram.length > 0, 'numeric columns have histograms');
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid=profile] [data-testid^=histogram-] canvas').length === n,
    withHistogram.length,
  );
  const timeColumn = withHistogram.find((c) => c.type === 'timestamp');
  if (timeColumn) assert.match(await page.textContent(`[data-testid=histogram-${timeColumn.name}]`), /\(UTC\)/);

  // The diff: by default against the parent; then from the first version.
  const first = versions[versions.length - 1].version;
  await page.selectOption('select[name=diff-from]', String(first));
  const diff = await api(base, `/api/v1/datasets/${many.name}/versions/${first}/diff?to=${many.name}@${versions[0].version}`);
  const rows = diff.profile.rows;
  await page.waitForFunction(
    (text) => document.querySelector('[data-testid=diff-rows]')?.textContent.startsWith(text),
    `${rows.before.toLocaleString('en-US')} → ${rows.after.toLocaleString('en-US')}`,
  );
  assert.equal(await page.locator('[data-testid=diff-changes] tbody tr').count(), diff.profile.changes.length);
  await shot(page, 'dataset-detail');

  // Models list.
  await page.click('nav >> text=Models');
  await page.waitForSelector('[data-testid=models] tbody tr');
  const { models } = await api(base, '/api/v1/models');
  assert.deepEqual(await rowKeys('[data-testid=models]', 'model'), models.map((m) => m.name));
  await shot(page, 'models');

  // A model: versions, aliases and their history, the latest version and its lineage.
  const name = models[0].name;
  await page.click(`tr[data-model="${name}"] a`);
  await page.waitForSelector('[data-testid=model-versions] tbody tr');
  const model = await api(base, `/api/v1/models/${name}`);
  assert.deepEqual(
    (await rowKeys('[data-testid=model-versions]', 'version')).map(Number),
    model.model_versions.map((v) => v.version).sort((a, b) => b - a),
  );
  assert.deepEqual(await rowKeys('[data-testid=aliases]', 'alias'), Object.keys(model.aliases));
  for (const [alias, version] of Object.entries(model.aliases))
    assert.match(await page.textContent(`tr[data-alias="${alias}"]`), new RegExp(`v${version}\\b`));
  assert.equal(await page.locator('[data-testid=alias-history] tbody tr').count(), model.alias_history.length);
  const latest = model.latest_version;
  const lineage = await api(base, `/api/v1/models/${name}/versions/${latest}/lineage?direction=upstream`);
  await page.waitForSelector('[data-testid=model-lineage] g.node');
  assert.equal(await page.locator('[data-testid=model-lineage] g.node').count(), lineage.nodes.length);
  const datasetNodes = lineage.nodes.filter((n) => n.kind === 'dataset_version');
  assert.ok(datasetNodes.length > 0, 'the lineage reaches datasets');
  for (const n of datasetNodes)
    assert.match(await page.textContent(`[data-testid=model-lineage] g.node[data-id="${n.id}"]`), new RegExp(n.details.sha256.slice(0, 12)));
  const inputs = (await api(base, `/api/v1/models/${name}/versions/${latest}`)).signature.inputs;
  assert.equal(await page.locator('[data-testid=signature-inputs] tr').count(), inputs.length);
  await shot(page, 'model-detail');
  await page.locator('[data-testid=model-lineage]').screenshot({ path: join(out, 'model-lineage.png') });

  // Its reference dataset, opened from the graph: that version's lineage one step each way.
  const reference = model.model_versions.find((v) => v.version === latest).reference.dataset_version;
  await page.click(`[data-testid=model-lineage] g.node[data-id="${reference}"]`);
  await page.waitForURL(new RegExp(`/ui/datasets/${reference.split('@')[0]}\\?version=${reference.split('@')[1]}`));
  await page.waitForSelector('[data-testid=lineage] [data-testid=made-from]');
  const [refName, refVersion] = reference.split('@');
  const refLineage = await api(base, `/api/v1/datasets/${refName}/versions/${refVersion}/lineage`);
  assert.equal(await page.locator('[data-testid=made-from] li').count(), refLineage.made_from.length);
  assert.equal(
    await page.locator('[data-testid=lineage] ul li').count(),
    refLineage.made_from.length + refLineage.used_by.length,
  );
  await reload(page);
  await page.waitForSelector('[data-testid=profile-columns] tbody tr');
}

// Deployments and alerts: endpoints, a canary rollout and its timeline, monitoring per
// served model, alert rules and history, each checked against the API's JSON.
async function deploymentsAndAlerts(base, page) {
  // The retrain started at the beginning ends in a canary rollout on fraud.
  let rollout = null;
  for (let i = 0; i < 240 && !rollout; i++) {
    const response = await fetch(`${base}/api/v1/endpoints/fraud/rollout`);
    if (response.ok) rollout = await response.json();
    else await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(rollout, 'the retrain pipeline started a canary rollout');
  // Its policy analyses every 2 h: rolled back, and the same candidate rolled out again
  // analysed every second, so the timeline has analyses with checks and decisions.
  await api(base, '/api/v1/endpoints/fraud/rollout/rollback', { body: { actor: 'ui-test', reason: 'again, faster' } });
  const firstRollout = rollout.id;
  await api(base, '/api/v1/endpoints/fraud/rollout', {
    body: {
      canary: `fraud@${rollout.candidate_version}`,
      policy: { steps: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], interval: '1s', min_requests: 5, failure_limit: 50 },
      actor: 'ui-test',
    },
  });
  const analysed = (r) => r.events.filter((e) => e.rollout_id === r.id && (e.figures.checks ?? []).length > 0);
  for (let i = 0; i < 100; i++) {
    rollout = await api(base, '/api/v1/endpoints/fraud/rollout');
    if (analysed(rollout).length >= 2 || rollout.phase !== 'progressing') break;
    for (let k = 0; k < 20; k++) {
      await api(base, '/v1/models/fraud:predict', {
        body: { instances: [{ transaction_id: `t-ro-${i}-${k}`, customer_id: 'c0000042', merchant_id: 'm00007' }] },
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(rollout.phase, 'progressing', JSON.stringify(rollout.events.slice(-3)));
  assert.ok(analysed(rollout).length >= 2, 'the rollout was analysed');
  await api(base, '/api/v1/endpoints/fraud/rollout/pause', { body: { actor: 'ui-test', reason: 'looking at it' } });
  rollout = await api(base, '/api/v1/endpoints/fraud/rollout');

  await page.click('nav >> text=Deployments');
  await page.waitForURL(/\/ui\/deployments$/);
  await page.waitForSelector('[data-testid=deployments] tbody tr');
  const { endpoints } = await api(base, '/api/v1/endpoints');
  assert.deepEqual(
    await page.locator('[data-testid=deployments] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.endpoint)),
    endpoints.map((e) => e.endpoint),
  );
  for (const e of endpoints) {
    const row = page.locator(`[data-testid=deployments] tr[data-endpoint="${e.endpoint}"]`);
    assert.equal((await row.locator('[data-col=version]').textContent()).trim(), `v${e.version}`);
    if (e.rollout) assert.match(await row.locator('[data-col=rollout]').textContent(), new RegExp(`v${e.rollout.candidate_version} at ${e.rollout.weight} %`));
  }
  await shot(page, 'deployments');

  await page.click('[data-testid=deployments] tr[data-endpoint=fraud] a');
  await page.waitForURL(/\/ui\/deployments\/fraud$/);
  await page.waitForSelector('[data-testid=rollout-events] li');
  assert.equal((await page.textContent('[data-testid=rollout-phase]')).trim(), rollout.phase);
  assert.equal(rollout.phase, 'paused');
  // The timeline: this rollout's events, newest first; the first rollout's apart.
  const current = rollout.events.filter((e) => e.rollout_id === rollout.id);
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid=rollout-events] > li').length === n,
    current.length,
  );
  const seqs = await page.locator('[data-testid=rollout-events] > li').evaluateAll((lis) => lis.map((li) => Number(li.dataset.seq)));
  assert.deepEqual(seqs, current.map((e) => e.seq).sort((a, b) => b - a), 'timeline newest first');
  assert.match(await page.textContent('[data-testid=rollout-events]'), /looking at it/);
  const earlier = await page
    .locator('[data-testid=earlier-rollout-events] li')
    .evaluateAll((lis) => lis.map((li) => `${li.dataset.rollout}/${li.dataset.seq}`));
  assert.deepEqual(
    earlier,
    rollout.events
      .filter((e) => e.rollout_id !== rollout.id)
      .sort((a, b) => b.rollout_id - a.rollout_id || b.seq - a.seq)
      .map((e) => `${e.rollout_id}/${e.seq}`),
  );
  assert.ok(earlier.some((k) => k.startsWith(`${firstRollout}/`)), 'the rolled back rollout is listed');
  // Each analysis with its checks and its decision, as the API has them.
  const analyses = analysed(rollout);
  for (const e of analyses) {
    const li = page.locator(`[data-testid=rollout-events] > li[data-seq="${e.seq}"]`);
    assert.deepEqual(
      await li.locator('tr[data-check]').evaluateAll((trs) => trs.map((tr) => tr.dataset.check)),
      e.figures.checks.map((c) => c.name),
      `checks of event ${e.seq}`,
    );
    if (e.figures.decision) assert.equal((await li.locator('[data-testid=decision]').textContent()).trim(), e.figures.decision);
  }
  const split = await page.textContent('[data-testid=traffic-split]');
  assert.ok(split.includes(`stable v${rollout.stable_version}`) && split.includes(`candidate v${rollout.candidate_version}`), split);
  const monitoring = await api(base, '/api/v1/deployments/fraud/monitoring?distributions=true');
  assert.equal(await page.locator('[data-testid=monitoring]').count(), monitoring.models.length);
  for (const m of monitoring.models) {
    const panel = page.locator(`[data-testid=monitoring][data-model="${m.model}@${m.version}"]`);
    const features = await panel.locator('[data-testid=drift] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.feature));
    assert.deepEqual(features, m.drift.features.map((f) => f.name), `drift rows of ${m.model}@${m.version}`);
    assert.equal(await panel.locator('[data-testid=data-quality] tbody tr').count(), (m.drift.data_quality ?? []).length);
    if (m.drift.prediction) assert.equal(await panel.locator('[data-testid=prediction-drift] tbody tr').count(), 1);
    // One reference-against-live chart per monitored column (inputs, then the prediction),
    // drawn where the column has a reference.
    const charts = await panel
      .locator('[data-testid=distribution]')
      .evaluateAll((divs) => divs.map((d) => [d.dataset.feature, d.dataset.kind, d.querySelectorAll('canvas').length]));
    assert.deepEqual(
      charts.map(([name, kind]) => [name, kind]),
      m.distributions.map((d) => [d.name, d.kind ?? 'none']),
      `distributions of ${m.model}@${m.version}`,
    );
    assert.ok(m.distributions.some((d) => d.kind === 'numeric'), 'the demo model has numeric inputs');
    for (const [name, kind, canvases] of charts) assert.equal(canvases, kind === 'none' ? 0 : 1, `chart of ${name}`);
  }
  await shot(page, 'deployment-detail');
  const distributions = page.locator('[data-testid=monitoring] [data-testid=distributions]').first();
  await distributions.screenshot({ path: join(out, 'deployment-distributions.png') });

  // Alerts: every rule, firing and pending first; the history, newest first.
  await page.click('nav >> text=Alerts');
  await page.waitForURL(/\/ui\/alerts$/);
  await page.waitForSelector('[data-testid=alert-rules] tbody tr');
  const { rules } = await api(base, '/api/v1/alerts');
  assert.ok(rules.length > 0, 'the demo applies alert rules');
  const shownRules = await page.locator('[data-testid=alert-rules] tr[data-rule]').evaluateAll((trs) => trs.map((tr) => tr.dataset.state));
  assert.equal(shownRules.length, rules.length);
  const order = { firing: 0, pending: 1, inactive: 2 };
  assert.deepEqual(shownRules, [...shownRules].sort((a, b) => order[a] - order[b]), 'firing and pending first');
  const active = rules.reduce((n, r) => n + r.alerts.length, 0);
  assert.equal(await page.locator('[data-testid=alert-rules] tr.alert-instance').count(), active);
  const { history } = await api(base, '/api/v1/alerts/history?limit=200');
  if (history.length === 0) await page.waitForSelector('[data-testid=no-history]');
  else assert.equal(await page.locator('[data-testid=alert-history] tbody tr').count(), history.length);
  await page.click('text=Rules file as applied (YAML)');
  for (const r of rules) assert.ok((await page.textContent('[data-testid=rules-source]')).includes(`alert: ${r.name}`));
  await shot(page, 'alerts');
}

// Features and pipelines: views with their sources, freshness and consumers; the
// fraud_retrain pipeline's DAG, its runs, one run's step states and a step's logs.
async function featuresAndPipelines(base, page) {
  const rowKeys = (selector, key) =>
    page.locator(`${selector} tbody tr`).evaluateAll((trs, k) => trs.map((tr) => tr.dataset[k]), key);

  await page.click('nav >> text=Features');
  await page.waitForURL(/\/ui\/features$/);
  await page.waitForSelector('[data-testid=feature-views] tbody tr');
  const defs = await api(base, '/api/v1/features');
  assert.ok(defs.feature_views.length > 0, 'the demo applies feature views');
  assert.deepEqual(await rowKeys('[data-testid=entities]', 'entity'), defs.entities.map((e) => e.name));
  assert.deepEqual(await rowKeys('[data-testid=feature-views]', 'view'), defs.feature_views.map((v) => v.name));
  assert.deepEqual(await rowKeys('[data-testid=feature-services]', 'service'), defs.feature_services.map((s) => s.name));
  for (const v of defs.feature_views) {
    const row = page.locator(`[data-testid=feature-views] tr[data-view="${v.name}"]`);
    assert.equal((await row.locator('[data-col=features]').textContent()).trim(), String(v.features.length));
    assert.equal((await row.locator('[data-col=source-version]').textContent()).trim(), v.source_version ?? '–');
    // The newest event's age by the server's clock (the API's freshness_seconds).
    const freshness = !v.newest_event ? /no events/ : v.freshness_seconds >= 0 ? / ago$/ : /ahead of the server's clock$/;
    assert.match(await row.locator('[data-col=freshness]').textContent(), freshness);
    const written = v.last_materialization ? v.last_materialization.keys_written.toLocaleString('en-US') : '–';
    assert.equal((await row.locator('[data-col=keys-written]').textContent()).trim(), written);
  }
  await shot(page, 'features');

  // A view with consumers: its features and the training sets, linking to the datasets page.
  const used = defs.feature_views.find((v) => (v.consumers ?? []).length > 0);
  assert.ok(used, 'the retrain made a training set from a view');
  await page.click(`[data-testid=feature-views] tr[data-view="${used.name}"] a`);
  await page.waitForURL(new RegExp(`/ui/features/${used.name}$`));
  await page.waitForSelector('[data-testid=view-features] tr');
  const view = await api(base, `/api/v1/features/views/${used.name}`);
  assert.deepEqual(
    await page.locator('[data-testid=view-features] tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.feature)),
    view.features.map((f) => f.name),
  );
  const consumers = await page.locator('[data-testid=consumers] li').evaluateAll((lis) => lis.map((li) => li.dataset.id));
  assert.deepEqual(consumers, view.consumers.map((c) => c.id));
  await shot(page, 'feature-view');
  const trainingSet = view.consumers.find((c) => c.kind === 'dataset_version').id;
  await page.click(`[data-testid=consumers] li[data-id="${trainingSet}"] a`);
  const [setName, setVersion] = trainingSet.split('@');
  await page.waitForURL(new RegExp(`/ui/datasets/${setName}\\?version=${setVersion}`));
  await page.waitForSelector('[data-testid=versions] tbody tr');

  // Pipelines: the list, with the last run's state (the test's retrain has ended by now).
  const { runs } = await api(base, '/api/v1/pipelines/fraud_retrain/runs');
  for (let i = 0; i < 240 && ['queued', 'running'].includes(runs[0].state); i++) {
    await new Promise((r) => setTimeout(r, 500));
    runs.splice(0, runs.length, ...(await api(base, '/api/v1/pipelines/fraud_retrain/runs')).runs);
  }
  await page.click('nav >> text=Pipelines');
  await page.waitForURL(/\/ui\/pipelines$/);
  await page.waitForSelector('[data-testid=pipelines] tbody tr');
  const { pipelines } = await api(base, '/api/v1/pipelines');
  assert.deepEqual(await rowKeys('[data-testid=pipelines]', 'pipeline'), pipelines.map((p) => p.name));
  for (const p of pipelines) {
    const state = (await page.textContent(`[data-testid=pipelines] tr[data-pipeline="${p.name}"] [data-col=state]`)).trim();
    assert.equal(state, p.last_run ? p.last_run.state : 'never run');
  }
  await shot(page, 'pipelines');

  // fraud_retrain: one DAG node per step, an edge per dependency, its runs newest first.
  await page.click('[data-testid=pipelines] tr[data-pipeline=fraud_retrain] td:first-child a');
  await page.waitForSelector('[data-testid=pipeline-dag] g.node');
  const pipeline = await api(base, '/api/v1/pipelines/fraud_retrain');
  assert.equal(await page.locator('[data-testid=pipeline-dag] g.node').count(), pipeline.steps.length);
  assert.equal(
    await page.locator('[data-testid=pipeline-dag] path.edge').count(),
    pipeline.steps.reduce((n, s) => n + s.depends_on.length, 0),
  );
  assert.match(await page.textContent('[data-testid=triggers]'), /alert: FraudModelDegraded/);
  await page.waitForSelector('[data-testid=pipeline-runs] tbody tr');
  assert.deepEqual(await rowKeys('[data-testid=pipeline-runs]', 'run'), runs.map((r) => r.id));
  assert.ok(runs.length >= 2, "the demo's retrain and the test's");
  await shot(page, 'pipeline');

  // The test's run: its state, each step's state on the DAG and in the table.
  const newest = runs[0];
  await page.click(`[data-testid=pipeline-runs] tr[data-run="${newest.id}"] td:first-child a`);
  await page.waitForSelector('[data-testid=run-dag] g.node[data-state]');
  const run = await api(base, `/api/v1/pipeline-runs/${newest.id}`);
  assert.equal((await page.textContent('[data-testid=run-state]')).trim(), run.state);
  const shownStates = await page
    .locator('[data-testid=run-dag] g.node')
    .evaluateAll((gs) => Object.fromEntries(gs.map((g) => [g.dataset.id, g.dataset.state])));
  assert.deepEqual(shownStates, Object.fromEntries(run.steps.map((s) => [s.step, s.state])));
  assert.deepEqual(
    await page.locator('[data-testid=run-steps] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.state)),
    run.steps.map((s) => s.state),
  );
  // A step's logs: the built-in steps write none and say so; a script step's open in a pre.
  const step = run.steps[0];
  await page.click(`[data-testid=run-dag] g.node[data-id="${step.step}"]`);
  await page.waitForURL(new RegExp(`step=${step.step}`));
  const artifacts = (await api(base, `/api/v1/runs/${step.tracking_run}`)).artifacts ?? [];
  const logs = artifacts.map((a) => a.path).filter((p) => /^logs\/(stdout|stderr)\.\d+\.txt$/.test(p));
  if (logs.length === 0) {
    await page.waitForSelector('[data-testid=no-logs]');
  } else {
    await page.click(`[data-testid=step-logs] button[data-log="${logs[0]}"]`);
    await page.waitForSelector('[data-testid=log-text]');
  }
  await shot(page, 'pipeline-run');
  await reload(page);
  await page.waitForSelector('[data-testid=run-dag] g.node[data-state]');

  // A command step's logs: both files listed, each opened showing the artifact's text.
  let logsRun = (await api(base, '/api/v1/pipelines/ui_logs/runs')).runs[0];
  for (let i = 0; i < 240 && ['queued', 'running'].includes(logsRun.state); i++) {
    await new Promise((r) => setTimeout(r, 250));
    logsRun = (await api(base, '/api/v1/pipelines/ui_logs/runs')).runs[0];
  }
  assert.equal(logsRun.state, 'succeeded');
  await page.click('nav >> text=Pipelines');
  await page.waitForSelector('[data-testid=pipelines] tr[data-pipeline=ui_logs]');
  await page.click('[data-testid=pipelines] tr[data-pipeline=ui_logs] td:first-child a');
  await page.waitForSelector(`[data-testid=pipeline-runs] tr[data-run="${logsRun.id}"]`);
  await page.click(`[data-testid=pipeline-runs] tr[data-run="${logsRun.id}"] td:first-child a`);
  await page.click('[data-testid=run-dag] g.node[data-id=greet]');
  await page.waitForSelector('[data-testid=step-logs] button[data-log]');
  const greet = (await api(base, `/api/v1/pipeline-runs/${logsRun.id}`)).steps[0];
  const greetLogs = ((await api(base, `/api/v1/runs/${greet.tracking_run}`)).artifacts ?? [])
    .map((a) => a.path)
    .filter((p) => p.startsWith('logs/'))
    .sort();
  assert.deepEqual(greetLogs, ['logs/stderr.1.txt', 'logs/stdout.1.txt']);
  const shownLogs = await page
    .locator('[data-testid=step-logs] button[data-log]')
    .evaluateAll((bs) => bs.map((b) => b.dataset.log).sort());
  assert.deepEqual(shownLogs, greetLogs);
  await page.click('[data-testid=step-logs] button[data-log="logs/stdout.1.txt"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=log-text]')?.textContent.includes('hello from ui_logs'));
  await page.click('[data-testid=step-logs] button[data-log="logs/stderr.1.txt"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=log-text]')?.textContent.includes('a warning'));
  await shot(page, 'pipeline-step-logs');
}

// --- auth: the token form, a good token, a token without read scope -------------------

async function authSuite() {
  const workspace = join(scratch, 'ws');
  execFileSync(ferry, ['init', workspace], { stdio: 'ignore' });
  const config = join(workspace, '.ferry', 'config.yaml');
  const text = readFileSync(config, 'utf8');
  assert.match(text, /^  auth: auto/m, 'ferry init writes server.auth');
  writeFileSync(config, text.replace(/^  auth: auto/m, '  auth: on'));
  const token = (scope) =>
    JSON.parse(execFileSync(ferry, ['token', 'create', `ui-${scope}`, '--scope', scope, '--json'], { cwd: workspace })).token;
  const readToken = token('read');
  const predictToken = token('predict');
  const { base } = await startServer(workspace);

  const browser = await launch();
  // Before a token is given the API answers 401 (and the browser logs it); after, nothing.
  let tokenGiven = false;
  const { page, problems } = await watchedPage(browser, (text) => !tokenGiven && /401/.test(text));
  await page.goto(`${base}/ui/`);
  await page.waitForSelector('.token-form input[name=token]');
  await shot(page, 'token-form');
  tokenGiven = true;
  await page.fill('input[name=token]', readToken);
  await page.click('button:text("Use token")');
  await page.waitForSelector('[data-testid=workspace]');
  await page.waitForSelector('text=No endpoints');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ferry.token')), readToken);
  assert.ok(!page.url().includes(readToken), 'the token is never in the URL');
  const info = await api(base, '/api/v1/workspace', { token: readToken });
  assert.match(await page.textContent('[data-testid=workspace]'), new RegExp(info.workspace_id.slice(0, 12)));
  await shot(page, 'token-accepted');
  assert.deepEqual(problems, [], 'no console errors or failed requests once the token is given');

  // A token that may not read: the server's 403 message is shown.
  const denied = await watchedPage(browser, (text) => /40[13]/.test(text));
  await denied.page.goto(`${base}/ui/`);
  await denied.page.fill('input[name=token]', predictToken);
  await denied.page.click('button:text("Use token")');
  const error = await denied.page.waitForSelector('[data-testid=fetch-error]');
  assert.match(await error.textContent(), /forbidden/);
  await shot(denied.page, 'token-forbidden');
}

let failed = false;
try {
  await (suite === 'pages' ? pagesSuite() : authSuite());
  log('ok');
} catch (e) {
  failed = true;
  console.error(`[ui ${suite}] FAILED:`, e);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  if (!failed) rmSync(scratch, { recursive: true, force: true });
  else console.error(`[ui ${suite}] workspace kept at ${scratch}`);
}
process.exit(failed ? 1 : 0);
