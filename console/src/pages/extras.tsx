/**
 * Pages for APIs that other parts of Pulse add: funnels and retention (analytics queries),
 * destinations and models. Each appears only when the API's OpenAPI document has its route, and
 * shows what the API answers as tables, so it follows the API as it grows.
 */
import { useState } from 'preact/hooks';
import { call, get, type OpenApi } from '../api';
import { ErrorBox, Loading, Table, useLoad } from '../ui';

const cell = (v: unknown): string =>
  v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** Any JSON as tables: arrays of objects as rows, objects as key/value pairs. */
export const JsonTables = ({ value, caption }: { value: unknown; caption: string }) => {
  if (Array.isArray(value) && value.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
    const cols = [...new Set(value.flatMap((r) => Object.keys(r as object)))];
    return (
      <Table
        caption={caption}
        head={cols}
        rows={value.map((r) => cols.map((c) => cell((r as Record<string, unknown>)[c])))}
      />
    );
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    const nested = entries.filter(([, v]) => Array.isArray(v) && v.length > 0 && typeof v[0] === 'object');
    return (
      <>
        <Table
          caption={caption}
          head={['Field', 'Value']}
          rows={entries.filter(([, v]) => !nested.some(([, n]) => n === v)).map(([k, v]) => [k, cell(v)])}
        />
        {nested.map(([k, v]) => (
          <JsonTables key={k} value={v} caption={`${caption}: ${k}`} />
        ))}
      </>
    );
  }
  return <pre>{cell(value)}</pre>;
};

const exampleBody = (doc: OpenApi, path: string, method: string): string => {
  const op = doc.paths[path]?.[method] as
    | { requestBody?: { content?: Record<string, { examples?: Record<string, { value?: unknown }> }> } }
    | undefined;
  const example = Object.values(op?.requestBody?.content?.['application/json']?.examples ?? {})[0]?.value;
  return example === undefined ? '{}' : JSON.stringify(example, null, 2);
};

/** Funnels, retention, paths: an analysis request (the API's own example to start from), then its result. */
export const Analysis = ({ doc, title }: { doc: OpenApi; title: string }) => {
  const [text, setText] = useState(exampleBody(doc, '/api/analytics/queries', 'post'));
  const [result, setResult] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    setRunning(true);
    try {
      const { queryId } = await call<{ queryId: string }>('/api/analytics/queries', {
        method: 'POST',
        json: JSON.parse(text),
      });
      for (let i = 0; i < 120; i++) {
        const status = await get<{ status: string; result?: unknown }>(
          `/api/analytics/queries/${encodeURIComponent(queryId)}`,
        );
        if (status.status !== 'running' && status.status !== 'queued') {
          setResult(status.result ?? status);
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    } catch (runError) {
      setError(runError);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section aria-labelledby="h-analysis">
      <h1 id="h-analysis">{title}</h1>
      <form class="card" onSubmit={run}>
        <label>
          Analysis (JSON)
          <textarea
            rows={12}
            value={text}
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            spellcheck={false}
          />
        </label>
        <button type="submit" disabled={running}>
          {running ? 'Running…' : 'Run'}
        </button>
      </form>
      <ErrorBox error={error} />
      {result !== undefined && <JsonTables value={result} caption="Result" />}
    </section>
  );
};

/** A list endpoint's items as a table (destinations with their status, models with their metrics). */
export const Listing = ({ title, path }: { title: string; path: string }) => {
  const list = useLoad(() => get<{ items?: unknown[] } | unknown[]>(path), [path]);
  const items = Array.isArray(list.data) ? list.data : list.data?.items;
  return (
    <section aria-labelledby="h-listing">
      <h1 id="h-listing">{title}</h1>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      {items && <JsonTables value={items} caption={title} />}
    </section>
  );
};
