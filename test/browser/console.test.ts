/**
 * The console in a real browser: Debian's Chromium driven by playwright-core, against the local
 * stack filled by `npm run demo` (plus an experiment and a rule). Each page must show the numbers
 * the API answers; sign-in, an admin action and an analyst refused it; axe finds no violations;
 * phone and desktop widths. Screenshots go to test-results/console/ (docs/screenshots/ holds the
 * README's copies).
 *
 * Chromium: /usr/bin/chromium, or PULSE_CHROMIUM. Without one the file is skipped, except in CI
 * (`CI` set), where that is a failure: .ci/run installs it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

const CHROMIUM = process.env.PULSE_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI)
  throw new Error(`No Chromium at ${CHROMIUM}: CI installs it (apt install chromium)`);

const SHOTS = join(process.cwd(), 'test-results', 'console');
const AXE = join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js');

let e2e: E2E;
let browser: BrowserContext;
let profileDir: string;
let campaigns: { campaignId: string; events: number; uniqueUsers: number; totals: Record<string, number> }[];

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const api = async (path: string, token = e2e.analyst) =>
  json(await e2e.call(path, { headers: bearer(token) }));

/** An experiment with exposures and conversions, and a rule with members, beside the demo's campaigns. */
const seedExperimentAndRule = async () => {
  const admin = bearer(e2e.admin);
  const put = await e2e.call('/api/experiments/hero-test', {
    method: 'PUT',
    headers: admin,
    json: {
      placement: 'home-hero',
      status: 'running',
      variants: [
        { id: 'control', weight: 1, content: { headline: 'Spring sale' } },
        { id: 'bold', weight: 1, content: { headline: 'Spring sale: 20 % off' } },
      ],
      goal: { type: 'conversion' },
    },
  });
  expect(put.status).toBe(201);
  const rule = await e2e.call('/api/segments/rules/clickers', {
    method: 'PUT',
    headers: admin,
    json: { tag: 'clickers', when: { type: 'click', atLeast: 1 } },
  });
  expect([200, 201]).toContain(rule.status);
  const people = Array.from({ length: 24 }, (_, i) => `shopper-${i}`);
  // A few at a time: the demo runs beside it, on a machine that may be busy.
  const seed = async (id: string, i: number) => {
    const token = await e2e.consent(id);
    const served = await e2e.call(`/api/promotion?userId=${id}&placement=home-hero`, {
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
    });
    expect(served.status).toBe(200);
    // After the exposure: only a conversion after it counts for the experiment.
    const at = new Date().toISOString();
    const events = [
      validEvent('click', { userId: id, campaignId: 'spring-sale', consentToken: token, timestamp: at }),
    ];
    if (i % 3 === 0)
      events.push(
        validEvent('conversion', {
          userId: id,
          campaignId: 'spring-sale',
          consentToken: token,
          timestamp: at,
        }),
      );
    const sent = await e2e.call('/api/engagement/events', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey },
      json: { events },
    });
    expect(sent.status).toBe(202);
  };
  for (let i = 0; i < people.length; i += 4)
    await Promise.all(people.slice(i, i + 4).map((id, j) => seed(id, i + j)));
  await eventually(async () => {
    const results = await api('/api/experiments/hero-test/results');
    expect(results.variants.reduce((n: number, v: { exposures: number }) => n + v.exposures, 0)).toBe(24);
    expect(results.variants.reduce((n: number, v: { conversions: number }) => n + v.conversions, 0)).toBe(8);
    const segments = await api('/api/segments');
    expect(segments.items.find((s: { tag: string }) => s.tag === 'clickers')?.size).toBeGreaterThanOrEqual(
      24,
    );
  }, 90_000);
};

beforeAll(async () => {
  if (!available) return;
  mkdirSync(SHOTS, { recursive: true });
  e2e = await startE2E({ console: true });
  // The demo as a user runs it, small (its own source, consent, bursts; it waits until counted),
  // while the experiment and the rule are seeded beside it.
  await Promise.all([
    promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/demo.ts',
        '--url',
        e2e.url,
        '--data',
        e2e.stack.keyDir,
        '--users',
        '30',
        '--campaigns',
        '3',
        '--concurrency',
        '2',
      ],
      { timeout: 150_000, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    ),
    seedExperimentAndRule(),
  ]);
  campaigns = (await api('/api/metrics/campaigns')).items;
  profileDir = mkdtempSync(join(tmpdir(), 'pulse-chromium-'));
  // A fresh profile each run; each page has its own session storage, so its own sign-in.
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timezoneId: 'UTC',
    // Only so that axe can be injected: the app itself runs under its own policy.
    bypassCSP: true,
    acceptDownloads: true,
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await e2e?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

/** A fresh page (its own session storage) at a width, collecting the app's errors. */
const open = async (width: number, height: number): Promise<{ page: Page; errors: string[] }> => {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // A refused call is logged by the browser as a failed load: the tests check those answers.
    if (
      m.type() === 'error' &&
      !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())
    )
      errors.push(m.text());
  });
  return { page, errors };
};

const signIn = async (page: Page, role: 'analyst' | 'admin') => {
  await page.goto(`${e2e.url}/console/`);
  await page.getByRole('radio', { name: role }).check();
  await page.getByRole('button', { name: `Sign in as ${role}` }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
};

const accessible = async (page: Page, what: string) => {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run: (o: unknown) => Promise<{ violations: { id: string; nodes: unknown[] }[] }> };
      }
    ).axe;
    const result = await axe.run({ runOnly: ['wcag2a', 'wcag2aa'] });
    return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
  });
  expect(violations, `axe on ${what}`).toEqual([]);
};

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent())?.trim();
const n = (v: number) => v.toLocaleString('en-US');
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe.skipIf(!available)('the console in Chromium', () => {
  it('signs an analyst in and shows each page with the numbers the API answers', async () => {
    const { page, errors } = await open(1280, 900);
    await page.goto(`${e2e.url}/console/`);
    await page.getByRole('heading', { name: 'Pulse console' }).waitFor();
    await accessible(page, 'sign-in');
    await shot(page, 'sign-in');
    await signIn(page, 'analyst');

    // Campaigns: the demo's and the seeded one, each row as the API counts it.
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    expect(campaigns.length).toBe(4);
    for (const c of campaigns) {
      expect(await text(page, `events-${c.campaignId}`)).toBe(n(c.events));
      expect(await text(page, `people-${c.campaignId}`)).toBe(n(c.uniqueUsers));
      expect(await text(page, `conversions-${c.campaignId}`)).toBe(n(c.totals.conversion ?? 0));
    }
    // Sorted by recent activity: spring-sale was sent last.
    const firstLink = page.getByRole('table').getByRole('link').first();
    expect(await firstLink.textContent()).toBe(campaigns[0]?.campaignId);
    await accessible(page, 'campaigns');
    await shot(page, 'campaigns');

    // Campaign: the report for the same range and zone.
    const demo = campaigns.find((c) => c.campaignId.startsWith('demo-')) as (typeof campaigns)[number];
    await page.getByRole('link', { name: demo.campaignId }).click();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const report = await api(
      `/api/metrics/campaigns/${demo.campaignId}?from=${day(Date.now() - 86_400_000)}&to=${day(Date.now() + 86_400_000)}&granularity=hour&tz=UTC`,
    );
    await page.getByTestId('campaign-events').waitFor();
    expect(await text(page, 'campaign-events')).toBe(n(report.events));
    expect(await text(page, 'campaign-people')).toBe(n(report.uniqueUsers));
    expect(await text(page, 'campaign-conversions')).toBe(n(report.totals.conversion));
    expect(await text(page, 'type-view')).toBe(n(report.totals.view));
    for (const [device, count] of Object.entries(report.byDeviceType as Record<string, number>))
      expect(await text(page, `device-${device}`)).toBe(n(count));
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    const csv = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV' }).click();
    expect((await csv).suggestedFilename()).toBe(`${demo.campaignId}-hour.csv`);
    await accessible(page, 'campaign');
    await shot(page, 'campaign');

    // Experiments: exposures and conversions per variant, the interval drawn.
    await page.getByRole('link', { name: 'Experiments' }).click();
    const results = await api('/api/experiments/hero-test/results');
    await page.getByTestId('exposures-hero-test-control').waitFor();
    for (const v of results.variants as { id: string; exposures: number; conversions: number }[]) {
      expect(await text(page, `exposures-hero-test-${v.id}`)).toBe(n(v.exposures));
      expect(await text(page, `conversions-hero-test-${v.id}`)).toBe(n(v.conversions));
    }
    expect(await page.locator('svg.intervals').count()).toBe(1);
    // An analyst may look, not stop: the API refuses, and the page says so.
    await page.getByRole('button', { name: 'Stop hero-test' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Refused' }).textContent()).resolves.toContain(
      'admin',
    );
    expect((await api('/api/experiments/hero-test')).status).toBe('running');
    await accessible(page, 'experiments');
    await shot(page, 'experiments');

    // Segments: sizes, members, and a bad rule's errors at their path.
    await page.getByRole('link', { name: 'Segments' }).click();
    const segments = await api('/api/segments');
    await page.getByTestId('size-clickers').waitFor();
    for (const s of segments.items as { tag: string; size: number }[])
      expect(await text(page, `size-${s.tag}`)).toBe(n(s.size));
    await page.getByRole('button', { name: 'Show members of clickers' }).click();
    await page.getByRole('table', { name: 'Members of clickers' }).waitFor();
    // Rules are an admin's to change.
    await page.getByLabel('Rule id').fill('mine');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('alert').filter({ hasText: 'Refused' }).first().waitFor();
    await accessible(page, 'segments');
    await shot(page, 'segments');

    // A person, found by typing the id (never in the URL).
    await page.getByRole('link', { name: 'People' }).click();
    const person = await api('/api/users/shopper-0');
    await page.getByLabel('User id or anonymous id').fill('shopper-0');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByTestId('person-conversions').waitFor();
    expect(await text(page, 'person-conversions')).toBe(n(person.conversions.count));
    expect(await text(page, 'person-count-click')).toBe(n(person.counts.click));
    expect(page.url()).not.toContain('shopper-0');
    // Erasure is behind a typed confirmation, and refused to an analyst.
    await page.getByRole('button', { name: 'Erase this person…' }).click();
    const erase = page.getByRole('button', { name: 'Erase permanently' });
    expect(await erase.isDisabled()).toBe(true);
    await page.getByLabel('Id to erase').fill('shopper-0');
    await erase.click();
    await page.getByRole('alert').filter({ hasText: 'Refused' }).first().waitFor();
    expect((await e2e.call('/api/users/shopper-0', { headers: bearer(e2e.analyst) })).status).toBe(200);
    await accessible(page, 'person');
    await shot(page, 'person');

    // Nothing personal kept by the browser but the session token.
    const stored = await page.evaluate(() => {
      const storage = globalThis as unknown as Record<
        'localStorage' | 'sessionStorage',
        Record<string, string>
      >;
      return { local: Object.keys(storage.localStorage), session: Object.keys(storage.sessionStorage) };
    });
    expect(stored).toEqual({ local: [], session: ['pulse.token'] });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('lets an admin stop an experiment, and fits a phone', async () => {
    const { page, errors } = await open(390, 844);
    await signIn(page, 'admin');
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    await page.getByTestId(`events-${campaigns[0]?.campaignId}`).waitFor();
    const overflow = await page.evaluate(() => {
      const w = globalThis as unknown as {
        innerWidth: number;
        document: { documentElement: { scrollWidth: number } };
      };
      return w.document.documentElement.scrollWidth - w.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await accessible(page, 'campaigns on a phone');
    await shot(page, 'campaigns-phone');
    await page.getByRole('link', { name: 'Experiments' }).click();
    await page.getByRole('button', { name: 'Stop hero-test' }).click();
    await page.getByRole('button', { name: 'Start hero-test' }).waitFor();
    expect((await api('/api/experiments/hero-test')).status).toBe('stopped');
    await shot(page, 'experiments-phone');
    // The rule editor shows where the API found each error.
    await page.getByRole('link', { name: 'Segments' }).click();
    await page.getByLabel('Rule id').fill('broken');
    await page
      .getByLabel('Definition (JSON: tag, when, description)')
      .fill('{"tag": "x", "when": {"all": [{"type": "click", "atLeast": -1}]}}');
    await page.getByRole('button', { name: 'Save rule' }).click();
    expect(await page.getByTestId('rule-error').first().textContent()).toContain('when.all.0.atLeast');
    await accessible(page, 'the rule editor with errors');
    await shot(page, 'rule-editor-phone');
    // Signing out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Pulse console' }).waitFor();
    expect(
      await page.evaluate(
        () => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length,
      ),
    ).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
