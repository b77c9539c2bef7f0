// The ui_runs benchmark's browser part (see run): node ui_runs.mjs URL ROUNDS RUNS, run
// from ui/: playwright-core is the dashboard's own dev dependency (ui/node_modules).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const { chromium } = createRequire(join(process.cwd(), 'package.json'))('playwright-core');
const [base, roundsText, runsText] = process.argv.slice(2);
const rounds = Number(roundsText);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// playwright-core gives each launch a fresh temporary profile of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Time from navigation to the first row of the runs table, in a fresh context (no cache).
async function firstRender(query) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const start = performance.now();
  await page.goto(`${base}/ui/runs?${query}`);
  await page.locator('table[data-testid="runs"] tbody tr').first().waitFor();
  const first = performance.now() - start;
  const label = await page.getByTestId('page-label').textContent();
  const clicked = performance.now();
  await page.getByRole('button', { name: /next/ }).click();
  // The new page's rows: the label names them once they are in (while they load it says
  // "loading", the previous rows staying in the table).
  await page.getByTestId('page-label').filter({ hasNotText: label }).filter({ hasNotText: 'loading' }).waitFor();
  const next = performance.now() - clicked;
  await context.close();
  if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
  return { first, next };
}

async function apiFloor(body) {
  const start = performance.now();
  const answer = await fetch(`${base}/api/v1/runs/search`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await answer.json();
  if (json.runs.length !== 50) throw new Error(`expected a page of 50 runs, got ${json.runs.length}`);
  return performance.now() - start;
}

const cases = [
  { name: 'plain', query: 'experiment=bench',
    body: { experiments: ['bench'], max_results: 50 } },
  { name: 'filtered', query: new URLSearchParams({ experiment: 'bench',
      filter: 'metrics.auc > 0.9', order_by: 'metrics.auc DESC' }).toString(),
    body: { experiments: ['bench'], filter: 'metrics.auc > 0.9', order_by: 'metrics.auc DESC',
            max_results: 50 } },
];
for (const c of cases) {
  await firstRender(c.query);  // warm-up
  await apiFloor(c.body);
  const first = [], next = [], floor = [];
  for (let i = 0; i < rounds; i++) {
    const t = await firstRender(c.query);
    first.push(t.first); next.push(t.next);
    floor.push(await apiFloor(c.body));
  }
  console.log(`ui_runs_first_render_${c.name}: ours=${median(first).toFixed(0)} ms floor=${median(floor).toFixed(1)} ms (${runsText} runs; goal < 1000 ms; floor: the page's API call alone)`);
  console.log(`ui_runs_next_page_${c.name}: ours=${median(next).toFixed(0)} ms (click on next to the new page shown)`);
}
await browser.close();
