// One monitored column's reference and live distributions, as the monitoring API returns
// them (?distributions=true): the reference's quantile bins with the reference's share and
// the live count of each, or the reference's categories with both counts.
import type { ComponentChildren } from 'preact';
import type { ColumnDistribution } from './api';
import { Chart } from './chart';
import { fmtInt, fmtNumber } from './format';

// Numeric columns come in up to ~100 fine quantile bins, too fine for the few hundred live
// values a window often holds: shown merged into about this many of equal reference share.
const SHOWN_BINS = 20;

export interface Bins {
  edges: number[]; // ascending, bins right-closed as the reference's
  reference: number[]; // share of the reference per bin
  live: number[]; // live count per bin
}

// Merges consecutive fine bins until each holds about 1 / target of the reference.
export function mergeBins(edges: number[], reference: number[], live: number[], target: number): Bins {
  const out: Bins = { edges: [edges[0]], reference: [], live: [] };
  let share = 0;
  let count = 0;
  let cumulative = 0;
  let next = 1;
  for (let i = 0; i < reference.length; i++) {
    share += reference[i];
    count += live[i] ?? 0;
    cumulative += reference[i];
    const last = i === reference.length - 1;
    if (!last && cumulative < next / target - 1e-9) continue;
    out.edges.push(edges[i + 1]);
    out.reference.push(share);
    out.live.push(count);
    share = 0;
    count = 0;
    while (next / target <= cumulative + 1e-9) next++;
  }
  return out;
}

function fmtShare(part: number, whole: number): string {
  return whole > 0 ? `${fmtNumber((100 * part) / whole, 1)} %` : '–';
}

// A bin edge or category: short, with the digits its size needs.
function fmtEdge(v: number): string {
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return v.toExponential(1);
  if (Number.isInteger(v)) return fmtInt(v);
  return fmtNumber(v, abs >= 100 ? 0 : abs >= 1 ? 1 : 3);
}

export function DistributionChart({ d }: { d: ColumnDistribution }) {
  const live = d.live_rows;
  if (d.kind === 'numeric' && d.edges && d.reference_shares && d.live_counts) {
    // Drawn by bin rather than on a value axis: a long tail (amounts, rates, scores) would
    // squeeze everything else into one corner. Bins hold equal parts of the reference, so
    // its bars are level and a live bar standing out shows where live values gathered or
    // thinned; ticks name each bin's upper edge. Values outside the reference's range get
    // a bin of their own at either end.
    const bins = mergeBins(d.edges, d.reference_shares, d.live_counts, SHOWN_BINS);
    const below = d.live_below ?? 0;
    const above = d.live_above ?? 0;
    const labels = bins.reference.map((_, i) => `≤ ${fmtEdge(bins.edges[i + 1])}`);
    const reference: (number | null)[] = [...bins.reference];
    const liveShares: (number | null)[] = bins.live.map((c) => (live > 0 ? c / live : null));
    if (below > 0) {
      labels.unshift(`< ${fmtEdge(d.edges[0])}`);
      reference.unshift(0);
      liveShares.unshift(below / live);
    }
    if (above > 0) {
      labels.push(`> ${fmtEdge(d.edges[d.edges.length - 1])}`);
      reference.push(0);
      liveShares.push(above / live);
    }
    return (
      <SharesChart d={d} labels={labels} reference={reference} live={liveShares}>
        <p class="note">
          reference {fmtInt(d.reference_rows)} values in [{fmtEdge(d.edges[0])}, {fmtEdge(d.edges[d.edges.length - 1])}]
          {' · '}live {fmtInt(live)} values
          {live > 0 && (
            <>
              : {fmtShare(below, live)} below the reference's minimum, {fmtShare(above, live)} above its maximum
            </>
          )}
          {d.live_missing > 0 && `, ${fmtInt(d.live_missing)} missing`}. Bins hold equal shares of the
          reference; ticks name their upper edges.
        </p>
      </SharesChart>
    );
  }
  if (d.kind === 'categorical' && d.categories && d.reference_counts && d.live_counts) {
    const unseen = d.live_unseen ?? 0;
    const labels = d.categories.map(fmtEdge);
    const reference = d.reference_counts.map((c) => c / Math.max(d.reference_rows, 1));
    const liveShares = d.live_counts.map((c) => (live > 0 ? c / live : null));
    if (unseen > 0) {
      labels.push('unseen');
      reference.push(0);
      liveShares.push(unseen / live);
    }
    return (
      <SharesChart d={d} labels={labels} reference={reference} live={liveShares}>
        <p class="note">
          reference {fmtInt(d.reference_rows)} values · live {fmtInt(live)} values
          {unseen > 0 && `, ${fmtInt(unseen)} of values the reference never had`}
          {d.live_missing > 0 && `, ${fmtInt(d.live_missing)} missing`}
        </p>
      </SharesChart>
    );
  }
  return (
    <div class="distribution" data-testid="distribution" data-feature={d.name} data-kind="none">
      <p class="muted">{d.name}: no reference to compare with</p>
    </div>
  );
}

// Side-by-side bars of the reference's and the live window's share of values per label,
// with the caption under it.
function SharesChart(props: {
  d: ColumnDistribution;
  labels: string[];
  reference: (number | null)[];
  live: (number | null)[];
  children: ComponentChildren;
}) {
  return (
    <div class="distribution" data-testid="distribution" data-feature={props.d.name} data-kind={props.d.kind}>
      <Chart
        title={props.d.name}
        x={props.labels.map((_, i) => i)}
        xTicks={props.labels}
        xLabel={props.d.name}
        yLabel="share of values"
        percent
        width={420}
        height={200}
        series={[
          { label: 'reference', values: props.reference, side: -1 },
          { label: 'live', values: props.live, side: 1 },
        ]}
      />
      {props.children}
    </div>
  );
}
