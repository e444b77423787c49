/** One campaign: series by hour or day in a chosen zone, totals, splits, rates, CSV. */
import { useMemo, useState } from 'preact/hooks';
import { download, get, toCsv } from '../api';
import { TimeChart } from '../chart';
import { Breakdown, ErrorBox, fmt, Loading, money, pct, Stat, Stats, useLoad } from '../ui';

interface Report {
  campaignId: string;
  from: string;
  to: string;
  granularity: 'hour' | 'day';
  tz: string;
  events: number;
  totals: Record<string, number>;
  byDeviceType: Record<string, number>;
  byChannel: Record<string, number>;
  conversionValue: Record<string, number>;
  uniqueUsers: number;
  uniqueUsersEstimated?: boolean;
  rates: { clickThrough: number | null; conversion: number | null; conversionsPerPerson: number | null };
  series: { start: string; counts: Record<string, number>; uniqueUsers: number }[];
}

const ZONES = [
  'UTC',
  'Europe/London',
  'Europe/Paris',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Kolkata',
  'Asia/Tokyo',
  'Australia/Sydney',
];
const COLORS: Record<string, string> = {
  view: '#2563eb',
  click: '#d97706',
  conversion: '#059669',
  share: '#7c3aed',
  'video-play': '#db2777',
  custom: '#6b7280',
};

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export const Campaign = ({ campaignId }: { campaignId: string }) => {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [tz, setTz] = useState(ZONES.includes(browserZone) ? browserZone : 'UTC');
  const [granularity, setGranularity] = useState<'hour' | 'day'>('hour');
  const [from, setFrom] = useState(isoDay(Date.now() - 86_400_000));
  const [to, setTo] = useState(isoDay(Date.now() + 86_400_000));
  const report = useLoad(
    () =>
      get<Report>(
        `/api/metrics/campaigns/${encodeURIComponent(campaignId)}?from=${from}&to=${to}&granularity=${granularity}&tz=${encodeURIComponent(tz)}`,
      ),
    [campaignId, tz, granularity, from, to],
  );
  const r = report.data;
  const chart = useMemo(() => {
    if (!r) return undefined;
    const types = Object.keys(r.totals).filter((t) => (r.totals[t] ?? 0) > 0);
    return {
      times: r.series.map((b) => Date.parse(b.start) / 1000),
      series: [
        ...types.map((t) => ({
          label: t,
          values: r.series.map((b) => b.counts[t] ?? 0),
          color: COLORS[t] ?? '#111',
        })),
        { label: 'unique people', values: r.series.map((b) => b.uniqueUsers), color: '#111827' },
      ],
    };
  }, [r]);
  const csv = () => {
    if (!r) return;
    const types = Object.keys(r.totals);
    download(
      `${campaignId}-${r.granularity}.csv`,
      toCsv([
        ['start', ...types, 'uniqueUsers'],
        ...r.series.map((b) => [b.start, ...types.map((t) => b.counts[t] ?? 0), b.uniqueUsers]),
      ]),
    );
  };
  return (
    <section aria-labelledby="h-campaign">
      <p>
        <a href="#/campaigns">← Campaigns</a>
      </p>
      <h1 id="h-campaign">{campaignId}</h1>
      <form class="toolbar" onSubmit={(e) => e.preventDefault()}>
        <label>
          From{' '}
          <input
            type="date"
            value={from}
            max={to}
            onChange={(e) => setFrom((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          To (exclusive){' '}
          <input
            type="date"
            value={to}
            min={from}
            onChange={(e) => setTo((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          By{' '}
          <select
            value={granularity}
            onChange={(e) => setGranularity((e.target as HTMLSelectElement).value as 'hour' | 'day')}
          >
            <option value="hour">hour</option>
            <option value="day">day</option>
          </select>
        </label>
        <label>
          Time zone{' '}
          <select value={tz} onChange={(e) => setTz((e.target as HTMLSelectElement).value)}>
            {ZONES.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={csv} disabled={!r}>
          Download CSV
        </button>
      </form>
      <ErrorBox error={report.error} />
      {report.loading && !r && <Loading />}
      {r && chart && (
        <>
          <Stats>
            <Stat label="Events" value={fmt(r.events)} testId="campaign-events" />
            <Stat
              label={r.uniqueUsersEstimated ? 'Unique people (estimated)' : 'Unique people'}
              value={fmt(r.uniqueUsers)}
              testId="campaign-people"
            />
            <Stat label="Conversions" value={fmt(r.totals.conversion ?? 0)} testId="campaign-conversions" />
            <Stat label="Revenue" value={money(r.conversionValue)} testId="campaign-revenue" />
            <Stat
              label="Click-through (clicks per view)"
              value={pct(r.rates.clickThrough)}
              testId="campaign-ctr"
            />
            <Stat label="Conversion (per click)" value={pct(r.rates.conversion)} testId="campaign-cr" />
          </Stats>
          <TimeChart
            title={`Events and unique people by ${r.granularity} (${r.tz})`}
            times={chart.times}
            series={chart.series}
          />
          <div class="grid">
            <Breakdown title="By type" data={r.totals} testId="type" />
            <Breakdown title="By device" data={r.byDeviceType} testId="device" />
            <Breakdown title="By channel" data={r.byChannel} testId="channel" />
          </div>
        </>
      )}
    </section>
  );
};
