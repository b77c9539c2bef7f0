// usePoll: load data now and every 5 s while the tab is visible (and at once when it
// becomes visible again), without reloading the page; the last refresh time and the
// last error stay visible.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export const POLL_MS = 5000;

export interface Polled<T> {
  data: T | undefined;
  // With keepPrevious: `data` is still the previous deps' while theirs loads.
  stale: boolean;
  error: ApiError | null;
  refreshedAt: Date | null;
  refresh: () => void;
}

export function usePoll<T>(
  load: () => Promise<T>,
  deps: unknown[],
  intervalMs = POLL_MS,
  options: { keepPrevious?: boolean } = {},
): Polled<T> {
  // What was loaded, with the deps it was loaded for: after a change of deps (another
  // model, dataset or run in the same component) nothing of the previous one is shown.
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{ key: string; data?: T; error: ApiError | null; at: Date | null }>({
    key,
    error: null,
    at: null,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    let running = false;
    let loaded = false;
    const run = async () => {
      if (running || document.visibilityState !== 'visible') return;
      running = true;
      try {
        const value = await loadRef.current();
        if (cancelled) return;
        loaded = true;
        setState({ key, data: value, error: null, at: new Date() });
      } catch (e) {
        if (cancelled) return;
        const error = e instanceof ApiError ? e : new ApiError(0, String(e));
        setState((s) => (s.key === key ? { ...s, error } : { key, error, at: null }));
      } finally {
        running = false;
      }
    };
    const onVisible = () => {
      // A load-once (useLoad) has nothing new to fetch on coming back to the tab.
      if (document.visibilityState === 'visible' && !(loaded && intervalMs > POLL_MS)) run();
    };
    run();
    timer = window.setInterval(run, intervalMs);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick, intervalMs]);

  const current = state.key === key;
  // A list paged through keeps its rows until the next page replaces them (the table is
  // updated in place rather than rebuilt); the caller marks them stale.
  const previous = !current && !!options.keepPrevious && state.data !== undefined;
  return {
    data: current || previous ? state.data : undefined,
    stale: previous,
    error: current ? state.error : null,
    refreshedAt: current ? state.at : null,
    refresh: () => setTick((t) => t + 1),
  };
}

// Loads once per change of deps (no polling): for what does not change, like a finished
// run's metric series.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Polled<T> {
  return usePoll(load, deps, 24 * 3600 * 1000);
}
