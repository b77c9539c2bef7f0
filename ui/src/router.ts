// Client-side routes under /ui/: the server answers index.html for any of them, so a
// reload or a shared link opens the same page.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui/';

export function currentRoute(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return path.replace(/\/+$/, '');
}

export function navigate(to: string) {
  history.pushState(null, '', BASE + to);
  window.dispatchEvent(new Event('ferry:navigate'));
}

// Re-renders on navigation (links and the back button).
export function useRoute(): [string, URLSearchParams] {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    window.addEventListener('popstate', bump);
    window.addEventListener('ferry:navigate', bump);
    return () => {
      window.removeEventListener('popstate', bump);
      window.removeEventListener('ferry:navigate', bump);
    };
  }, []);
  return [currentRoute(), new URLSearchParams(location.search)];
}

// Replaces the query string without a new history entry (the page's own state).
export function setQuery(params: Record<string, string | null | undefined>) {
  const search = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') search.delete(k);
    else search.set(k, v);
  }
  const s = search.toString();
  history.replaceState(null, '', location.pathname + (s ? `?${s}` : ''));
}
