/** Experiments: the list, each one's results with its confidence intervals drawn, SRM, start/stop. */
import { useState } from 'preact/hooks';
import { call, get } from '../api';
import { ErrorBox, fmt, Loading, pct, Table, useLoad, when } from '../ui';

interface Experiment {
  experimentId: string;
  placement: string;
  status: 'draft' | 'running' | 'stopped';
  goal: { type: string; name?: string };
  variants: { id: string; weight: number }[];
  updatedAt: string;
  startedAt?: string;
}
interface Arm {
  id: string;
  exposures: number;
  conversions: number;
  rate: number | null;
  lift?: number | null;
  difference?: number | null;
  ci?: { lower: number; upper: number } | null;
  pValue?: number | null;
}
interface Results {
  experimentId: string;
  variants: Arm[];
  srm: { pValue: number | null; flagged: boolean };
}

/** Each variant's difference from the control with its 95 % interval, on one shared axis. */
const IntervalPlot = ({ arms }: { arms: Arm[] }) => {
  const withCi = arms.filter((a) => a.ci);
  if (withCi.length === 0) return <p class="muted">No interval yet: each variant needs exposures.</p>;
  const bound = Math.max(
    0.001,
    ...withCi.flatMap((a) => [Math.abs(a.ci?.lower ?? 0), Math.abs(a.ci?.upper ?? 0)]),
  );
  const w = 320;
  const row = 28;
  const x = (v: number) => w / 2 + (v / bound) * (w / 2 - 10);
  return (
    <svg
      class="intervals"
      viewBox={`0 0 ${w} ${row * withCi.length + 20}`}
      role="img"
      aria-label={withCi
        .map(
          (a) =>
            `${a.id}: difference ${pct(a.difference)} (95 % CI ${pct(a.ci?.lower)} to ${pct(a.ci?.upper)})`,
        )
        .join('; ')}
    >
      <line x1={x(0)} x2={x(0)} y1="0" y2={row * withCi.length + 8} stroke="#9ca3af" stroke-dasharray="3 3" />
      {withCi.map((a, i) => {
        const y = row * i + 14;
        const lower = a.ci?.lower ?? 0;
        const upper = a.ci?.upper ?? 0;
        const color = lower > 0 ? '#059669' : upper < 0 ? '#dc2626' : '#4b5563';
        return (
          <g key={a.id}>
            <line x1={x(lower)} x2={x(upper)} y1={y} y2={y} stroke={color} stroke-width="3" />
            <circle cx={x(a.difference ?? 0)} cy={y} r="4" fill={color} />
            <text x="4" y={y - 6} font-size="10" fill="#374151">
              {a.id}
            </text>
          </g>
        );
      })}
      <text x={x(0)} y={row * withCi.length + 18} font-size="10" text-anchor="middle" fill="#374151">
        0 (control)
      </text>
    </svg>
  );
};

const ExperimentResults = ({ experiment, onChanged }: { experiment: Experiment; onChanged: () => void }) => {
  const results = useLoad(
    () => get<Results>(`/api/experiments/${encodeURIComponent(experiment.experimentId)}/results`),
    [experiment],
  );
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const act = async (run: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await run();
      onChanged();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  };
  const setStatus = (status: string) =>
    act(() =>
      call(`/api/experiments/${encodeURIComponent(experiment.experimentId)}`, {
        method: 'PATCH',
        json: { status },
      }),
    );
  const r = results.data;
  return (
    <article aria-labelledby={`h-x-${experiment.experimentId}`} class="card">
      <h2 id={`h-x-${experiment.experimentId}`}>
        {experiment.experimentId} <span class={`badge ${experiment.status}`}>{experiment.status}</span>
      </h2>
      <p class="muted">
        Placement {experiment.placement} · goal {experiment.goal.type}
        {experiment.goal.name ? ` (${experiment.goal.name})` : ''} · started {when(experiment.startedAt)}
      </p>
      <div class="toolbar">
        {experiment.status !== 'running' && (
          <button type="button" disabled={busy} onClick={() => setStatus('running')}>
            Start {experiment.experimentId}
          </button>
        )}
        {experiment.status === 'running' && (
          <button type="button" disabled={busy} onClick={() => setStatus('stopped')}>
            Stop {experiment.experimentId}
          </button>
        )}
        {experiment.status === 'draft' && !experiment.startedAt && (
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() =>
              window.confirm(`Delete the draft ${experiment.experimentId}?`) &&
              act(() =>
                call(`/api/experiments/${encodeURIComponent(experiment.experimentId)}`, { method: 'DELETE' }),
              )
            }
          >
            Delete draft
          </button>
        )}
      </div>
      <ErrorBox error={actionError} />
      <ErrorBox error={results.error} />
      {results.loading && !r && <Loading />}
      {r && (
        <>
          {r.srm.flagged && (
            <p role="alert" class="warning" data-testid={`srm-${experiment.experimentId}`}>
              Sample ratio mismatch (p = {r.srm.pValue?.toPrecision(2)}): exposures do not follow the weights.
              Find the cause before trusting these results.
            </p>
          )}
          <Table
            caption="Per variant, against the first (control); 95 % interval of the difference in conversion rate"
            head={['Variant', 'Exposed', 'Converted', 'Rate', 'Lift', '95 % CI', 'p-value']}
            rows={r.variants.map((a) => [
              a.id,
              <span data-testid={`exposures-${experiment.experimentId}-${a.id}`}>{fmt(a.exposures)}</span>,
              <span data-testid={`conversions-${experiment.experimentId}-${a.id}`}>
                {fmt(a.conversions)}
              </span>,
              pct(a.rate),
              a.lift === undefined ? 'control' : pct(a.lift),
              a.ci ? `${pct(a.ci.lower)} … ${pct(a.ci.upper)}` : '—',
              a.pValue === undefined || a.pValue === null ? '—' : a.pValue.toPrecision(2),
            ])}
          />
          <IntervalPlot arms={r.variants} />
        </>
      )}
    </article>
  );
};

export const Experiments = () => {
  const [status, setStatus] = useState('');
  const list = useLoad(
    () => get<{ items: Experiment[] }>(`/api/experiments${status ? `?status=${status}` : ''}`),
    [status],
  );
  return (
    <section aria-labelledby="h-experiments">
      <h1 id="h-experiments">Experiments</h1>
      <div class="toolbar">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="running">running</option>
            <option value="draft">draft</option>
            <option value="stopped">stopped</option>
          </select>
        </label>
      </div>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data?.items.length === 0 && <p>No experiments{status ? ` with status ${status}` : ''}.</p>}
      {list.data?.items.map((x) => (
        <ExperimentResults key={`${x.experimentId}-${x.updatedAt}`} experiment={x} onChanged={list.reload} />
      ))}
    </section>
  );
};
