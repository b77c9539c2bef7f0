// Numbers, durations and times as the tables show them: fixed digits so columns align.
import type { MetricValue } from './api';

export function fmtNumber(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function fmtInt(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return value.toLocaleString('en-US');
}

// Seconds to milliseconds with three significant figures' worth of digits.
export function fmtMillis(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  const ms = seconds * 1000;
  return fmtNumber(ms, ms < 10 ? 3 : ms < 100 ? 2 : 1);
}

export function metricNumber(value: MetricValue | undefined): number | null {
  if (value === undefined) return null;
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return NaN;
}

export function fmtMetric(value: MetricValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'number') return value;
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return fmtInt(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return value.toExponential(3);
  return value.toFixed(4);
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // ISO-like, in UTC, to the second: what the CLI and the API print.
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export function fmtDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function runSeconds(start: string, end: string | null | undefined): number | null {
  if (!end) return null;
  return (new Date(end).getTime() - new Date(start).getTime()) / 1000;
}
