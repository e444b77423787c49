/** Campaigns: every campaign by recent activity, with its week as a sparkline. */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { ErrorBox, fmt, Loading, money, Sparkline, Table, useLoad, when } from '../ui';

export interface CampaignRow {
  campaignId: string;
  lastActivity?: string;
  events: number;
  totals: Record<string, number>;
  conversionValue: Record<string, number>;
  uniqueUsers: number;
  sparkline: { start: string; events: number }[];
}
interface CampaignPage {
  items: CampaignRow[];
  nextCursor?: string;
  window: { days: number };
}

const SORTS = [
  ['lastActivity', 'Recent activity'],
  ['events', 'Events'],
  ['uniqueUsers', 'Unique people'],
  ['conversions', 'Conversions'],
  ['campaignId', 'Name'],
] as const;

export const Campaigns = () => {
  const [sort, setSort] = useState('lastActivity');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      get<CampaignPage>(
        `/api/metrics/campaigns?limit=25&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
    [sort, cursor],
  );
  return (
    <section aria-labelledby="h-campaigns">
      <h1 id="h-campaigns">Campaigns</h1>
      <div class="toolbar">
        <label>
          Sort by{' '}
          <select
            value={sort}
            onChange={(e) => {
              setSort((e.target as HTMLSelectElement).value);
              setCursors([]);
            }}
          >
            {SORTS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={page.error} />
      {page.loading && !page.data && <Loading />}
      {page.data && (
        <>
          <Table
            caption={`Lifetime totals; unique people and the sparkline over the last ${page.data.window.days} days`}
            head={[
              'Campaign',
              'Last activity',
              `Last ${page.data.window.days} days`,
              'Events',
              'Unique people',
              'Conversions',
              'Revenue',
            ]}
            rows={page.data.items.map((c) => [
              <a href={`#/campaigns/${encodeURIComponent(c.campaignId)}`}>{c.campaignId}</a>,
              when(c.lastActivity),
              <Sparkline
                values={c.sparkline.map((d) => d.events)}
                label={`Events per day of ${c.campaignId}`}
              />,
              <span data-testid={`events-${c.campaignId}`}>{fmt(c.events)}</span>,
              <span data-testid={`people-${c.campaignId}`}>{fmt(c.uniqueUsers)}</span>,
              <span data-testid={`conversions-${c.campaignId}`}>{fmt(c.totals.conversion ?? 0)}</span>,
              <span data-testid={`revenue-${c.campaignId}`}>{money(c.conversionValue)}</span>,
            ])}
          />
          {page.data.items.length === 0 && <p>No campaign has events yet: send some (npm run demo).</p>}
          <div class="toolbar">
            <button
              type="button"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={!page.data.nextCursor}
              onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
            >
              Next page
            </button>
          </div>
        </>
      )}
    </section>
  );
};
