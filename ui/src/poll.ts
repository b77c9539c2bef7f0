// usePoll: load data now and every 5 s while the tab is visible (and at once when it
// becomes visible again), without reloading the page; the last refresh time and the
// last error stay visible.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export const POLL_MS = 5000;

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | null;
  refreshedAt: Date | null;
  refresh: () => void;
}

export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [refreshedAt, setRefreshedAt] = useState<Date | null>(null);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    let running = false;
    const run = async () => {
      if (running || document.visibilityState !== 'visible') return;
      running = true;
      try {
        const value = await loadRef.current();
        if (cancelled) return;
        setData(value);
        setError(null);
        setRefreshedAt(new Date());
      } catch (e) {
        if (cancelled) return;
        setError(e instanceof ApiError ? e : new ApiError(0, String(e)));
      } finally {
        running = false;
      }
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible') run();
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
  }, [...deps, tick, intervalMs]);

  return { data, error, refreshedAt, refresh: () => setTick((t) => t + 1) };
}

// Loads once per change of deps (no polling): for what does not change, like a finished
// run's metric series.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Polled<T> {
  return usePoll(load, deps, 24 * 3600 * 1000);
}
