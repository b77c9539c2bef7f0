// A lineage graph (GET .../lineage) drawn as inline SVG, left to right: what a thing was
// made from on the left, the thing itself on the right. Datasets, runs and models link
// to their pages.
import type { ComponentChildren } from 'preact';
import type { LineageGraph, LineageNode } from './api';
import { link } from './app';
import { BASE } from './router';
import { edgeCurve, layoutDag, placeDag, type DagBox } from './dag';

const BOX: DagBox = { nodeW: 146, nodeH: 50, gapX: 82, gapY: 22, pad: 12 };
const NODE_W = BOX.nodeW;
const NODE_H = BOX.nodeH;
const GAP_X = BOX.gapX;

const KIND_COLOR: Record<string, string> = {
  model_version: '#1f5fbf',
  run: '#2a8c4a',
  dataset_version: '#b8860b',
  feature_view: '#8a3fb5',
  feature_service: '#8a3fb5',
  source: '#555',
};

// The dashboard page a node opens, when there is one.
export function lineageRoute(kind: string, id: string, details?: Record<string, string>): string | null {
  const at = id.lastIndexOf('@');
  if (kind === 'dataset_version' && at > 0)
    return `datasets/${encodeURIComponent(id.slice(0, at))}?version=${encodeURIComponent(id.slice(at + 1))}`;
  if (kind === 'model_version' && at > 0)
    return `models/${encodeURIComponent(id.slice(0, at))}?version=${encodeURIComponent(id.slice(at + 1))}`;
  if (kind === 'run') {
    const experiment = details?.experiment;
    return `runs?${experiment ? `experiment=${encodeURIComponent(experiment)}&` : ''}run=${encodeURIComponent(id)}`;
  }
  return null;
}

function shortId(node: LineageNode): string {
  if (node.kind === 'run') return `${node.details.name ?? ''} ${node.id.slice(0, 6)}`.trim();
  if (/^[0-9a-f]{40,}$/.test(node.id)) return `${node.id.slice(0, 12)}…`;
  // Long names lose their middle, never the version after '@'.
  // Keep the tail: split_train@1 and split_validation@1 of one parent stay apart.
  return node.id.length <= 19 ? node.id : `${node.id.slice(0, 5)}…${node.id.slice(-13)}`;
}

function thirdLine(node: LineageNode): string {
  if (node.details.sha256) return `sha256 ${node.details.sha256.slice(0, 12)}`;
  if (node.details.artifact_digest) return `${node.details.flavor ?? ''} ${node.details.artifact_digest.slice(0, 12)}`.trim();
  if (node.kind === 'run') return (node.details.status ?? '').toLowerCase();
  return '';
}

export function LineageSvg({ graph, testId }: { graph: LineageGraph; testId?: string }) {
  const key = (k: { id: string; kind: string }) => `${k.kind}\u0000${k.id}`;
  const nodes = new Map(graph.nodes.map((n) => [key(n), n]));
  // Parallel edges (one dataset used twice, as entity table and feature source) share a line.
  const merged = new Map<string, { from: string; to: string; relations: string[] }>();
  for (const e of graph.edges) {
    const from = key(e.from);
    const to = key(e.to);
    const k = `${from}\u0001${to}`;
    const m = merged.get(k) ?? { from, to, relations: [] };
    if (!m.relations.includes(e.relation)) m.relations.push(e.relation);
    merged.set(k, m);
  }
  const edges = [...merged.values()];
  const layout = layoutDag([...nodes.keys()], edges);
  const { width, height, place } = placeDag(layout, BOX);

  return (
    <DagFrame
      class="lineage"
      testId={testId}
      width={width}
      height={height}
      label={`lineage of ${graph.root.id}: ${graph.nodes.length} nodes, ${graph.edges.length} edges`}
      arrowId="arrow"
    >
      {edges.map((e, index) => {
        const a = place.get(e.from)!;
        const b = place.get(e.to)!;
        const { x1, y1, x2, y2, d } = edgeCurve(a, b, BOX);
        const label = e.relations.join(', ');
        // The label sits just after the edge leaves its source: edges into one node
        // (a training set's many inputs) converge, but leave from different nodes.
        const t = Math.min(0.5, GAP_X / 2 / Math.max(GAP_X, x2 - x1));
        const lx = x1 + GAP_X / 2;
        const ly = y1 + (y2 - y1) * (t * t * (3 - 2 * t));
        // One label for a node's several outputs of one relation leaving close together.
        const repeated = edges
          .slice(0, index)
          .some((o) => o.from === e.from && o.relations.join() === e.relations.join() && Math.abs(place.get(o.to)!.y - b.y) < 3 * NODE_H);
        return (
          <g class="edge" data-relation={label}>
            <EdgePath d={d} arrowId="arrow" />
            {!repeated && (
            <text x={lx} y={ly - 3 - (e.relations.length - 1) * 11} text-anchor="middle" class="edge-label">
              {e.relations.map((r, i) => (
                <tspan x={lx} dy={i === 0 ? 0 : 11}>
                  {r}
                </tspan>
              ))}
            </text>
            )}
          </g>
        );
      })}
      {[...place.entries()].map(([k, p]) => {
        const node = nodes.get(k)!;
        const route = lineageRoute(node.kind, node.id, node.details);
        const root = node.id === graph.root.id && node.kind === graph.root.kind;
        const body = (
          <g class={`node${root ? ' root' : ''}`} data-kind={node.kind} data-id={node.id}>
            <title>
              {node.kind} {node.id}
            </title>
            <rect
              x={p.x}
              y={p.y}
              width={NODE_W}
              height={NODE_H}
              rx="5"
              fill={root ? '#e8f0fc' : '#fff'}
              stroke={KIND_COLOR[node.kind] ?? '#555'}
              stroke-width={root ? 2 : 1.2}
            />
            <text x={p.x + 8} y={p.y + 14} class="node-kind" fill={KIND_COLOR[node.kind] ?? '#555'}>
              {node.kind.replace('_', ' ')}
            </text>
            <text x={p.x + 8} y={p.y + 30} class="node-id">
              {shortId(node)}
            </text>
            <text x={p.x + 8} y={p.y + 44} class="node-extra">
              {thirdLine(node)}
            </text>
          </g>
        );
        return route ? (
          <a href={BASE + route} onClick={link(route)}>
            {body}
          </a>
        ) : (
          body
        );
      })}
    </DagFrame>
  );
}

// The frame a DAG is drawn in (the lineage graph, a pipeline's steps): a scrolling box,
// the SVG with its accessible label, and the arrowhead `arrowId` its edges end in.
export function DagFrame(props: {
  class: string;
  testId?: string;
  width: number;
  height: number;
  label: string;
  arrowId: string;
  children: ComponentChildren;
}) {
  return (
    <div class="scroll">
      <svg
        class={props.class}
        data-testid={props.testId}
        width={props.width}
        height={props.height}
        viewBox={`0 0 ${props.width} ${props.height}`}
        role="img"
        aria-label={props.label}
      >
        <defs>
          <marker id={props.arrowId} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" fill="#8a949e" />
          </marker>
        </defs>
        {props.children}
      </svg>
    </div>
  );
}

// An edge of a DAG drawn in a DagFrame: the curve `d`, ending in the frame's arrowhead.
export function EdgePath(props: { d: string; arrowId: string; class?: string }) {
  return (
    <path
      class={props.class}
      d={props.d}
      fill="none"
      stroke="#8a949e"
      stroke-width="1.2"
      marker-end={`url(#${props.arrowId})`}
    />
  );
}
