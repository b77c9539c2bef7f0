// A left-to-right layered layout of a small DAG (a lineage graph of tens of nodes):
// longest-path layers, then a few barycenter sweeps to order each layer so fewer edges
// cross. No dependency: the graphs are small and this is all they need.

export interface DagEdge {
  from: string;
  to: string;
}

export interface DagLayout {
  layer: Map<string, number>; // node -> column, 0 at the left (no incoming edges)
  layers: string[][]; // each column's nodes, top to bottom
}

export function layoutDag(nodes: string[], edges: DagEdge[], sweeps = 4): DagLayout {
  const known = new Set(nodes);
  const real = edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  const preds = new Map<string, string[]>(nodes.map((n) => [n, []]));
  const succs = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of real) {
    preds.get(e.to)!.push(e.from);
    succs.get(e.from)!.push(e.to);
  }

  // Longest path from any source, by Kahn's order; a node left over (a cycle, which a
  // lineage graph should not have) goes after its known predecessors.
  const layer = new Map<string, number>();
  const indegree = new Map(nodes.map((n) => [n, preds.get(n)!.length]));
  const queue = nodes.filter((n) => indegree.get(n) === 0);
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    const l = Math.max(-1, ...preds.get(n)!.map((p) => layer.get(p) ?? -1)) + 1;
    layer.set(n, l);
    for (const s of succs.get(n)!) {
      indegree.set(s, indegree.get(s)! - 1);
      if (indegree.get(s) === 0) queue.push(s);
    }
  }
  for (const n of nodes) {
    if (!layer.has(n)) layer.set(n, Math.max(-1, ...preds.get(n)!.map((p) => layer.get(p) ?? -1)) + 1);
  }

  // A source (no inputs) moves right to just before its nearest consumer, so a feature
  // view read by a late step does not stretch an edge across the whole graph.
  for (const n of nodes) {
    if (preds.get(n)!.length === 0 && succs.get(n)!.length > 0)
      layer.set(n, Math.min(...succs.get(n)!.map((s) => layer.get(s)!)) - 1);
  }

  const depth = Math.max(0, ...layer.values()) + 1;
  const layers: string[][] = Array.from({ length: depth }, () => []);
  for (const n of nodes) layers[layer.get(n)!].push(n);

  // Barycenter sweeps: left to right by predecessors' positions, then right to left by
  // successors'; a node with no neighbour on that side keeps its place.
  const position = new Map<string, number>();
  const index = () => layers.forEach((ns) => ns.forEach((n, i) => position.set(n, i)));
  index();
  const reorder = (ns: string[], neighbours: Map<string, string[]>) => {
    const key = new Map<string, number>();
    ns.forEach((n, i) => {
      const ps = neighbours.get(n)!.map((p) => position.get(p)!);
      key.set(n, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : i);
    });
    ns.sort((a, b) => key.get(a)! - key.get(b)! || position.get(a)! - position.get(b)!);
    ns.forEach((n, i) => position.set(n, i));
  };
  for (let s = 0; s < sweeps; s++) {
    for (let l = 1; l < depth; l++) reorder(layers[l], preds);
    for (let l = depth - 2; l >= 0; l--) reorder(layers[l], succs);
  }
  return { layer, layers };
}

// Edges that cross between adjacent layers (for tests and to compare orders).
export function crossings(layout: DagLayout, edges: DagEdge[]): number {
  const pos = new Map<string, number>();
  layout.layers.forEach((ns) => ns.forEach((n, i) => pos.set(n, i)));
  const spans = edges
    .filter((e) => layout.layer.get(e.to)! === layout.layer.get(e.from)! + 1)
    .map((e) => ({ l: layout.layer.get(e.from)!, a: pos.get(e.from)!, b: pos.get(e.to)! }));
  let count = 0;
  for (let i = 0; i < spans.length; i++)
    for (let j = i + 1; j < spans.length; j++) {
      const x = spans[i];
      const y = spans[j];
      if (x.l === y.l && (x.a - y.a) * (x.b - y.b) < 0) count++;
    }
  return count;
}

// Node sizes and gaps of a drawing, in pixels.
export interface DagBox {
  nodeW: number;
  nodeH: number;
  gapX: number;
  gapY: number;
  pad: number;
}

// Each node's top-left corner, every layer centred vertically, and the drawing's size.
export function placeDag(layout: DagLayout, box: DagBox) {
  const tallest = Math.max(1, ...layout.layers.map((l) => l.length));
  const width = box.pad * 2 + layout.layers.length * box.nodeW + (layout.layers.length - 1) * box.gapX;
  const height = box.pad * 2 + tallest * box.nodeH + (tallest - 1) * box.gapY;
  const place = new Map<string, { x: number; y: number }>();
  layout.layers.forEach((ns, l) => {
    const top = box.pad + ((tallest - ns.length) * (box.nodeH + box.gapY)) / 2;
    ns.forEach((n, i) =>
      place.set(n, { x: box.pad + l * (box.nodeW + box.gapX), y: top + i * (box.nodeH + box.gapY) }),
    );
  });
  return { width, height, place };
}

// An edge from the right side of `a` to the left side of `b`, as a cubic curve.
export function edgeCurve(a: { x: number; y: number }, b: { x: number; y: number }, box: DagBox, minBend = 30) {
  const x1 = a.x + box.nodeW;
  const y1 = a.y + box.nodeH / 2;
  const x2 = b.x;
  const y2 = b.y + box.nodeH / 2;
  const dx = Math.max(minBend, (x2 - x1) / 2);
  return { x1, y1, x2, y2, d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}` };
}
