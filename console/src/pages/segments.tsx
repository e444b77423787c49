/** Segments: sizes, members page by page, and the rule editor with the API's errors at their path. */
import { useState } from 'preact/hooks';
import { ApiError, call, get } from '../api';
import { ErrorBox, fmt, Loading, Table, useLoad, when } from '../ui';

interface Rule {
  ruleId: string;
  tag: string;
  when: unknown;
  description?: string;
  updatedAt: string;
  backfill?: { status: string; processed: number };
}

const Members = ({ tag }: { tag: string }) => {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      get<{ items: { userId: string; sources: string[] }[]; nextCursor?: string }>(
        `/api/segments/${encodeURIComponent(tag)}/users?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
    [tag, cursor],
  );
  return (
    <div>
      <ErrorBox error={page.error} />
      {page.data && (
        <>
          <Table
            caption={`Members of ${tag}`}
            head={['Person', 'Tagged by']}
            rows={page.data.items.map((m) => [m.userId, m.sources.join(', ')])}
          />
          <div class="toolbar">
            <button
              type="button"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Previous members
            </button>
            <button
              type="button"
              disabled={!page.data.nextCursor}
              onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
            >
              Next members
            </button>
          </div>
        </>
      )}
    </div>
  );
};

const EXAMPLE = JSON.stringify(
  {
    tag: 'engaged',
    when: { type: 'click', atLeast: 3, withinDays: 7 },
    description: 'Clicked at least 3 times in a week',
  },
  null,
  2,
);

const RuleEditor = ({ rule, onSaved }: { rule?: Rule; onSaved: () => void }) => {
  const [ruleId, setRuleId] = useState(rule?.ruleId ?? '');
  const [text, setText] = useState(
    rule
      ? JSON.stringify(
          { tag: rule.tag, when: rule.when, ...(rule.description ? { description: rule.description } : {}) },
          null,
          2,
        )
      : EXAMPLE,
  );
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved('');
    setError(undefined);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (parseError) {
      setError(new ApiError(400, 'invalid_json', `The rule is not JSON: ${(parseError as Error).message}`));
      return;
    }
    try {
      await call(`/api/segments/rules/${encodeURIComponent(ruleId)}`, { method: 'PUT', json: body });
      setSaved(`Saved rule ${ruleId}`);
      onSaved();
    } catch (saveError) {
      setError(saveError);
    }
  };
  const fieldErrors = error instanceof ApiError ? error.errors : [];
  return (
    <form class="card" onSubmit={save} aria-labelledby="h-rule-editor">
      <h2 id="h-rule-editor">{rule ? `Edit rule ${rule.ruleId}` : 'New rule'}</h2>
      <label>
        Rule id{' '}
        <input
          value={ruleId}
          required
          onInput={(e) => setRuleId((e.target as HTMLInputElement).value)}
          disabled={Boolean(rule)}
        />
      </label>
      <label>
        Definition (JSON: tag, when, description)
        <textarea
          rows={10}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          aria-invalid={fieldErrors.length > 0}
          aria-describedby="rule-errors"
          spellcheck={false}
        />
      </label>
      <div id="rule-errors">
        {fieldErrors.length > 0 ? (
          <div role="alert" class="error">
            <p>The API refused the rule:</p>
            <ul>
              {fieldErrors.map((f) => (
                <li key={f.path} data-testid="rule-error">
                  at <code>{f.path || '(rule)'}</code>: {f.message}
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <ErrorBox error={error} />
        )}
      </div>
      {saved && <p role="status">{saved}</p>}
      <button type="submit">Save rule</button>
    </form>
  );
};

export const Segments = () => {
  const segments = useLoad(
    () => get<{ items: { tag: string; size: number }[] }>('/api/segments?limit=100'),
    [],
  );
  const rules = useLoad(() => get<{ items: Rule[] }>('/api/segments/rules?limit=100'), []);
  const [open, setOpen] = useState<string>();
  const [editing, setEditing] = useState<Rule | undefined>();
  const [ruleError, setRuleError] = useState<unknown>();
  const reload = () => {
    segments.reload();
    rules.reload();
  };
  const remove = async (r: Rule) => {
    if (
      !window.confirm(`Delete rule ${r.ruleId}? Its tag ${r.tag} is removed from every member it gave it to.`)
    )
      return;
    setRuleError(undefined);
    try {
      await call(`/api/segments/rules/${encodeURIComponent(r.ruleId)}`, { method: 'DELETE' });
      reload();
    } catch (error) {
      setRuleError(error);
    }
  };
  return (
    <section aria-labelledby="h-segments">
      <h1 id="h-segments">Segments</h1>
      <ErrorBox error={segments.error} />
      {segments.loading && !segments.data && <Loading />}
      {segments.data && (
        <Table
          caption="Segments (tags) and their exact sizes"
          head={['Segment', 'People', '']}
          rows={segments.data.items.map((s) => [
            s.tag,
            <span data-testid={`size-${s.tag}`}>{fmt(s.size)}</span>,
            <button
              type="button"
              aria-expanded={open === s.tag}
              onClick={() => setOpen(open === s.tag ? undefined : s.tag)}
            >
              {open === s.tag ? 'Hide' : 'Show'} members of {s.tag}
            </button>,
          ])}
        />
      )}
      {open && <Members tag={open} />}
      <h2>Rules</h2>
      <ErrorBox error={rules.error ?? ruleError} />
      {rules.data && (
        <Table
          caption="Rules that tag people from their behaviour"
          head={['Rule', 'Tag', 'Backfill', 'Changed', '']}
          rows={rules.data.items.map((r) => [
            r.ruleId,
            r.tag,
            r.backfill ? `${r.backfill.status} (${fmt(r.backfill.processed)})` : '—',
            when(r.updatedAt),
            <span class="toolbar">
              <button type="button" onClick={() => setEditing(r)}>
                Edit {r.ruleId}
              </button>
              <button type="button" class="danger" onClick={() => remove(r)}>
                Delete {r.ruleId}
              </button>
            </span>,
          ])}
        />
      )}
      <RuleEditor key={editing?.ruleId ?? 'new'} rule={editing} onSaved={reload} />
      {editing && (
        <button type="button" onClick={() => setEditing(undefined)}>
          New rule instead
        </button>
      )}
    </section>
  );
};
