/**
 * A person: profile, linked ids, tags by source, consent history, recent activity; export and
 * erasure for admins, behind a confirmation. The id is typed in, never put in the address bar.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, download, get } from '../api';
import { ErrorBox, fmt, Loading, money, Table, when } from '../ui';

interface Profile {
  userId: string;
  resolvedFrom?: string;
  linkedIds: { anonymousId: string; linkedAt?: string }[];
  channels: string[];
  firstSeen: string | null;
  lastSeen: string | null;
  counts: Record<string, number>;
  conversions: { count: number; value: Record<string, number> };
  campaigns: { campaignId: string; lastSeen: string }[];
  tags: { tag: string; source: string; setAt?: string }[];
}
interface ConsentState {
  current?: { purposes: Record<string, boolean>; policyVersion: string; recordedAt: string };
  history: {
    purposes: Record<string, boolean>;
    policyVersion: string;
    recordedAt: string;
    source?: string;
  }[];
}

const PersonView = ({ id, onErased }: { id: string; onErased: () => void }) => {
  const [state, setState] = useState<{
    profile?: Profile;
    consent?: ConsentState;
    error?: unknown;
    loading: boolean;
  }>({ loading: true });
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [actionError, setActionError] = useState<unknown>();
  const [done, setDone] = useState('');
  useEffect(() => {
    Promise.all([
      get<Profile>(`/api/users/${encodeURIComponent(id)}`),
      get<ConsentState>(`/api/users/${encodeURIComponent(id)}/consent`).catch((e: unknown) =>
        e instanceof ApiError && e.status === 404 ? { history: [] } : Promise.reject(e),
      ),
    ]).then(
      ([profile, consent]) => setState({ profile, consent, loading: false }),
      (error: unknown) => setState({ error, loading: false }),
    );
  }, [id]);
  if (state.loading) return <Loading />;
  if (state.error) return <ErrorBox error={state.error} />;
  const p = state.profile as Profile;
  const exportData = async () => {
    setActionError(undefined);
    try {
      const data = await get<unknown>(`/api/users/${encodeURIComponent(id)}/export`);
      download('person-export.json', JSON.stringify(data, null, 2), 'application/json');
      setDone('Export downloaded');
    } catch (error) {
      setActionError(error);
    }
  };
  const erase = async (e: Event) => {
    e.preventDefault();
    setActionError(undefined);
    try {
      const r = await call<{ deleted: number }>(`/api/users/${encodeURIComponent(id)}`, { method: 'DELETE' });
      setDone(`Erased: ${fmt(r.deleted)} records deleted`);
      setConfirming(false);
      onErased();
    } catch (error) {
      setActionError(error);
    }
  };
  return (
    <div>
      <h2>Person {p.userId}</h2>
      {p.resolvedFrom && <p class="muted">Found through the linked id {p.resolvedFrom}.</p>}
      <dl class="stats">
        <div class="stat">
          <dt>First seen</dt>
          <dd>{when(p.firstSeen)}</dd>
        </div>
        <div class="stat">
          <dt>Last seen</dt>
          <dd>{when(p.lastSeen)}</dd>
        </div>
        <div class="stat">
          <dt>Conversions</dt>
          <dd data-testid="person-conversions">{fmt(p.conversions.count)}</dd>
        </div>
        <div class="stat">
          <dt>Value</dt>
          <dd>{money(p.conversions.value)}</dd>
        </div>
        <div class="stat">
          <dt>Channels</dt>
          <dd>{p.channels.join(', ') || '—'}</dd>
        </div>
      </dl>
      <div class="grid">
        <Table
          caption="Events by type"
          head={['Type', 'Events']}
          rows={Object.entries(p.counts).map(([t, n]) => [
            t,
            <span data-testid={`person-count-${t}`}>{fmt(n)}</span>,
          ])}
        />
        <Table
          caption="Recent activity by campaign"
          head={['Campaign', 'Last seen']}
          rows={p.campaigns.slice(0, 20).map((c) => [c.campaignId, when(c.lastSeen)])}
        />
        <Table
          caption="Linked ids"
          head={['Anonymous id', 'Linked']}
          rows={p.linkedIds.map((l) => [l.anonymousId, when(l.linkedAt)])}
        />
        <Table
          caption="Tags by source"
          head={['Tag', 'Source', 'Since']}
          rows={p.tags.map((t) => [t.tag, t.source, when(t.setAt)])}
        />
      </div>
      <Table
        caption="Consent history (newest first)"
        head={['Recorded', 'Policy', 'Analytics', 'Marketing', 'Personalization']}
        rows={[...(state.consent?.history ?? [])]
          .sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))
          .map((h) => [
            when(h.recordedAt),
            h.policyVersion,
            String(h.purposes.analytics ?? false),
            String(h.purposes.marketing ?? false),
            String(h.purposes.personalization ?? false),
          ])}
      />
      <h3>Privacy (admins)</h3>
      <div class="toolbar">
        <button type="button" onClick={exportData}>
          Export this person's data
        </button>
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Erase this person…
        </button>
      </div>
      {confirming && (
        <form class="card confirm" onSubmit={erase} aria-labelledby="h-erase">
          <h4 id="h-erase">Erase every record of this person, under every linked id?</h4>
          <p>This cannot be undone. Type the id to confirm.</p>
          <label>
            Id to erase{' '}
            <input
              value={typed}
              onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
              autocomplete="off"
            />
          </label>
          <div class="toolbar">
            <button type="submit" class="danger" disabled={typed !== id}>
              Erase permanently
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={actionError} />
      {done && <p role="status">{done}</p>}
    </div>
  );
};

export const Person = () => {
  const [input, setInput] = useState('');
  const [id, setId] = useState('');
  const [version, setVersion] = useState(0);
  return (
    <section aria-labelledby="h-person">
      <h1 id="h-person">People</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setId(input.trim());
          setVersion(version + 1);
        }}
      >
        <label>
          User id or anonymous id{' '}
          <input
            value={input}
            onInput={(e) => setInput((e.target as HTMLInputElement).value)}
            autocomplete="off"
            required
          />
        </label>
        <button type="submit">Look up</button>
      </form>
      {id && <PersonView key={`${id}-${version}`} id={id} onErased={() => undefined} />}
    </section>
  );
};
