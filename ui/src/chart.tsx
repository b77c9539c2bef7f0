// A uPlot chart in a Preact component: created once, its data replaced on each render.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const PALETTE = ['#1f5fbf', '#c4421a', '#2a8c4a', '#8a3fb5', '#b8860b', '#0e7c86', '#a12a5e', '#555'];

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  scale?: string; // a second y scale, for a second unit
  bars?: boolean; // a histogram: x holds each bin's left edge, bars fill to the next
  // Grouped bars on a categorical axis (xTicks): a narrow bar left (-1) or right (1) of x.
  side?: -1 | 1;
  steps?: boolean; // a step line: values[i] holds from x[i] to x[i + 1]
}

export interface ChartProps {
  title: string;
  x: number[];
  xLabel: string;
  time?: boolean; // x holds Unix seconds
  integerX?: boolean; // x holds steps: ticks on whole numbers only
  xTicks?: string[]; // a categorical axis: x holds 0..n-1, each tick labelled by its name
  percent?: boolean; // y holds shares (0..1): shown as percent on the axis and in the legend
  series: ChartSeries[];
  yLabel: string;
  y2Label?: string; // the unit of series with scale 'y2'
  width?: number;
  height?: number;
  testId?: string;
}

export function Chart(props: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${props.series
    .map((s) => s.label + (s.scale ?? '') + (s.bars ? 'b' : '') + (s.side ?? '') + (s.steps ? 's' : ''))
    .join('|')}|${props.time}|${props.xTicks?.join('\u0000') ?? ''}|${props.xLabel}|${props.yLabel}|${
    props.y2Label ?? ''
  }|${!!props.integerX}|${!!props.percent}`;

  useEffect(() => {
    if (!holder.current) return;
    const ticks = props.xTicks;
    const axes: uPlot.Axis[] = [
      {
        label: props.xLabel,
        stroke: '#333',
        grid: { stroke: '#e6e6e6' },
        ...(props.integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] } : {}),
        ...(ticks
          ? {
              splits: () => ticks.map((_, i) => i),
              // Every k-th name when there are too many to read side by side.
              values: (_u: uPlot, splits: number[]) => {
                const longest = Math.max(...ticks.map((t) => t.length));
                const fit = Math.max(1, Math.floor((props.width ?? 520) / (7 * longest + 12)));
                const every = Math.ceil(ticks.length / fit);
                return splits.map((i) => (i % every === 0 ? (ticks[i] ?? '') : ''));
              },
            }
          : {}),
      },
      {
        label: props.yLabel,
        stroke: '#333',
        grid: { stroke: '#e6e6e6' },
        size: 60,
        ...(props.percent ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => `${+(v * 100).toFixed(1)} %`) } : {}),
      },
    ];
    const scales: uPlot.Scales = { x: { time: !!props.time } };
    if (ticks) scales.x = { time: false, range: () => [-0.5, ticks.length - 0.5] };
    // Bars measure from zero, or a short bar would look like an empty one.
    if (props.series.some((s) => s.bars || s.side || s.steps)) scales.y = { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] };
    if (props.y2Label) {
      axes.push({ label: props.y2Label, scale: 'y2', side: 1, stroke: '#333', grid: { show: false }, size: 60 });
      scales.y2 = {};
    }
    const opts: uPlot.Options = {
      // Times on the axes in UTC, as everywhere else in the dashboard (uPlot's default is
      // the browser's zone).
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      width: props.width ?? 520,
      height: props.height ?? 220,
      scales,
      axes,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [
        // The legend names the category under the cursor, not its index.
        ticks ? { label: props.xLabel, value: (_u, v) => (v === null ? '–' : (ticks[v] ?? '')) } : { label: props.xLabel },
        ...props.series.map((s, i) => {
          const o = seriesOptions(s, i);
          if (props.percent) o.value = (_u, v) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);
          return o;
        }),
      ],
    };
    plot.current = new uPlot(opts, data(props), holder.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, props.width, props.height]);

  useEffect(() => {
    plot.current?.setData(data(props));
  });

  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      <div ref={holder} />
    </figure>
  );
}

// How series i is drawn: its color, and a path by kind (grouped bars, steps, histogram
// bars, or a line with points).
function seriesOptions(s: ChartSeries, i: number): uPlot.Series {
  const color = PALETTE[i % PALETTE.length];
  const common = { label: s.label, scale: s.scale ?? 'y', stroke: color };
  if (s.side) {
    const paths = uPlot.paths.bars!({ size: [0.4, 48], align: s.side });
    return { ...common, fill: color + '99', width: 1, paths, points: { show: false } };
  }
  if (s.steps) {
    const paths = uPlot.paths.stepped!({ align: 1 });
    return { ...common, fill: color + '22', width: 2, paths, points: { show: false } };
  }
  if (s.bars) {
    const paths = uPlot.paths.bars!({ size: [1, Infinity], gap: 1, align: 1 });
    return { ...common, fill: color + '99', width: 1, paths, points: { show: false } };
  }
  return { ...common, width: 2, spanGaps: true, points: { show: true, size: 4 } };
}

function data(props: ChartProps): uPlot.AlignedData {
  return [props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
}
