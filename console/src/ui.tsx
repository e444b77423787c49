/** Small building blocks every page uses: loading and error states, tables, numbers, sparklines. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const pct = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined ? '—' : `${(n * 100).toFixed(digits)} %`;
export const money = (byCurrency: Record<string, number> | undefined) => {
  const entries = Object.entries(byCurrency ?? {});
  return entries.length === 0 ? '—' : entries.map(([c, v]) => `${fmt(v, 2)} ${c}`).join(' · ');
};
export const when = (iso: string | null | undefined) =>
  iso ? `${new Date(iso).toLocaleString('en-GB', { timeZone: 'UTC' })} UTC` : '—';

/** Load with a deps list; `reload` fetches again. */
export const useLoad = <T,>(load: () => Promise<T>, deps: unknown[]) => {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
};

export const ErrorBox = ({ error }: { error: unknown }) => {
  if (!error) return null;
  const e = error as ApiError;
  const message =
    e instanceof ApiError && e.status === 403
      ? `Refused: ${e.message}`
      : e instanceof Error
        ? e.message
        : String(error);
  return (
    <div role="alert" class="error">
      <p>{message}</p>
      {e instanceof ApiError && e.errors.length > 0 && (
        <ul>
          {e.errors.map((f) => (
            <li key={f.path}>
              <code>{f.path || '(body)'}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
};

export const Loading = () => (
  <p class="muted" aria-live="polite">
    Loading…
  </p>
);

export const Stat = ({
  label,
  value,
  testId,
}: {
  label: string;
  value: ComponentChildren;
  testId?: string;
}) => (
  <div class="stat">
    <dt>{label}</dt>
    <dd data-testid={testId}>{value}</dd>
  </div>
);

export const Stats = ({ children }: { children: ComponentChildren }) => <dl class="stats">{children}</dl>;

export const Table = ({
  caption,
  head,
  rows,
}: {
  caption: string;
  head: ComponentChildren[];
  rows: ComponentChildren[][];
}) => (
  <div class="table-wrap">
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {head.map((h, i) => (
            <th key={i} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {r.map((c, j) => (
              <td key={j}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

/** A tiny line of values: drawn as SVG, labelled for screen readers with its numbers. */
export const Sparkline = ({ values, label }: { values: number[]; label: string }) => {
  const w = 96;
  const h = 24;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`)
    .join(' ');
  return (
    <svg
      class="sparkline"
      width={w}
      height={h}
      viewBox={`0 0 ${w} ${h}`}
      role="img"
      aria-label={`${label}: ${values.join(', ')}`}
    >
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
};

/** A definition-like list of key → number (a breakdown). */
export const Breakdown = ({
  title,
  data,
  testId,
}: {
  title: string;
  data: Record<string, number>;
  testId?: string;
}) => (
  <Table
    caption={title}
    head={['', 'Events']}
    rows={Object.entries(data)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, <span data-testid={testId ? `${testId}-${k}` : undefined}>{fmt(v)}</span>])}
  />
);
