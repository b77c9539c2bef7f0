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

export function fmtMetric(value: MetricValue | null | undefined): string {
  if (value === undefined) return '';
  if (value === null) return '–'; // a metric without a value (live quality before labels)
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
  // Rounded first, so 59.6 s of a minute reads as the next minute, not "60 s".
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function runSeconds(start: string, end: string | null | undefined): number | null {
  if (!end) return null;
  return (new Date(end).getTime() - new Date(start).getTime()) / 1000;
}

// Bytes in binary units, two digits past 1 KiB.
export function fmtBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '–';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}

// Microseconds since the epoch (the profiles' timestamps) as UTC time.
export function fmtMicros(micros: number | null | undefined): string {
  if (micros === null || micros === undefined || !Number.isFinite(micros)) return '–';
  return fmtTime(new Date(micros / 1000).toISOString());
}

// A statistic as the profile tables show it: integers whole, others to 4 significant places.
export function fmtStat(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return fmtInt(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return value.toExponential(3);
  return value.toLocaleString('en-US', { maximumFractionDigits: abs >= 100 ? 2 : 4 });
}

// "v3", or a dash where the API has no version (an endpoint serving nothing, a model
// without versions).
export function fmtVersion(version: number | null | undefined): string {
  return version === null || version === undefined ? '–' : `v${version}`;
}

// A monitoring window: its duration ("1h"), or its row count for a count window.
export function fmtWindow(window: { duration?: string; rows?: number } | null | undefined): string {
  if (window?.duration) return window.duration;
  return window?.rows ? `${fmtInt(window.rows)} rows` : '–';
}
