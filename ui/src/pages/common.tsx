// Pieces the list-and-detail pages (datasets, models) share.
import type { ComponentChildren } from 'preact';
import { Freshness, link } from '../app';
import type { Polled } from '../poll';
import { BASE, setQuery } from '../router';

// "Datasets /" then the name, its freshness and a 404 said plainly.
export function DetailHeader(props: {
  listRoute: string;
  listTitle: string;
  name: string;
  polled: Polled<unknown>;
  children?: ComponentChildren;
}) {
  return (
    <>
      <p class="muted">
        <a href={BASE + props.listRoute} onClick={link(props.listRoute)}>
          {props.listTitle}
        </a>{' '}
        /
      </p>
      <h1>{props.name}</h1>
      <Freshness polled={props.polled} />
      {props.polled.error?.status === 404 && (
        <p class="error">
          No {props.listRoute.replace(/s$/, '')} {props.name}.
        </p>
      )}
    </>
  );
}

// Shows a version of the current page (?version=N) without a new history entry.
export function showVersion(version: number, more: Record<string, string | null> = {}) {
  setQuery({ version: String(version), ...more });
  window.dispatchEvent(new Event('ferry:navigate'));
}

export function VersionLink({ version, onShow }: { version: number; onShow: (v: number) => void }) {
  return (
    <a
      href={`?version=${version}`}
      onClick={(e) => {
        e.preventDefault();
        onShow(version);
      }}
    >
      v{version}
    </a>
  );
}

// Keys in first-seen order, so columns do not jump between polls.
export function keysOf(maps: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const m of maps) for (const k of Object.keys(m)) seen.add(k);
  return [...seen];
}

// The item named by the route's second segment ("models/NAME"): decoded, or null for none
// or for a segment that is not valid percent-encoding (a hand-typed "%"), which the page
// then shows as unknown rather than failing to render.
export function routeItem(route: string): string | null {
  const segment = route.split('/')[1];
  if (!segment) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
