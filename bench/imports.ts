/**
 * Bulk imports (docs/traits.md): rows/s and peak RSS reading a large CSV upload the way the runner
 * does now — streamed from the object store, parsed incrementally — against the baseline measured
 * in the same run: the whole-object read and string parser the runner used before
 * (bench/baseline/whole-file-import.ts). Each reader runs in a fresh Node process, so peak RSS is
 * its own; an idle process (the same modules loaded, nothing read) gives the floor. Both map every
 * row (rowUpdate: traits and tags); the DynamoDB and stream writes, the same for both, are left out.
 *
 * `PULSE_BENCH_IMPORT_ROWS` sets the file's rows (default 2,000,000, about 90 MB).
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderObjectStore } from '../functions/adapters/object-store';
import { FILE_START, readRecords } from '../functions/core/import-records';
import { type ImportBody, rowUpdate, toRow } from '../functions/core/imports';
import type { TraitContext } from '../functions/core/traits';
import { readHeader } from '../functions/traits/importer';
import { wholeFileCsvRecords } from './baseline/whole-file-import';

const KEY = 'uploads/bench.csv';
const body: ImportBody = {
  format: 'csv',
  mapping: { userId: 'id', traits: { plan: 'plan', seats: 'seats' }, tags: { add: 'tags' } },
};
const ctx: TraitContext = {
  declarations: new Map([
    ['plan', { name: 'plan', type: 'string', pii: 'none', purpose: 'marketing' }],
    ['seats', { name: 'seats', type: 'number', pii: 'none', purpose: 'marketing' }],
  ]) as unknown as TraitContext['declarations'],
};

const writeCsv = async (path: string, rows: number) => {
  const out = createWriteStream(path);
  const write = (s: string) => new Promise<void>((done, fail) => out.write(s, (e) => (e ? fail(e) : done())));
  await write('id,plan,seats,email,tags\n');
  let batch: string[] = [];
  for (let i = 1; i <= rows; i++) {
    const plan = i % 10_000 === 0 ? '"pro,\nannual"' : i % 3 ? 'pro' : 'free';
    batch.push(
      `user-${i},${plan},${i % 100},person${i}@example.com,${i % 100 === 0 ? 'vip;imported' : ''}\n`,
    );
    if (batch.length === 10_000) {
      await write(batch.join(''));
      batch = [];
    }
  }
  await write(batch.join(''));
  await new Promise<void>((done) => out.end(done));
};

/** One reader over the file, in this process: rows, rows mapped, time and peak RSS. */
const readIn = async (mode: 'stream' | 'whole' | 'idle', dir: string) => {
  const store = folderObjectStore({ name: 'imports', dir });
  const started = performance.now();
  let rows = 0;
  let mapped = 0;
  const apply = (cells: string[], line: number, header: readonly string[]) => {
    rows++;
    if (rowUpdate(toRow({ line, next: FILE_START, cells }, 'csv', header), body, ctx).ok) mapped++;
  };
  if (mode === 'stream') {
    const header = await readHeader(store, KEY);
    const file = await store.read(KEY, { from: header?.next.byte ?? 0 });
    if (!file) throw new Error('the bench file is missing');
    for await (const records of readRecords(file.body, 'csv', header?.next))
      for (const r of records) apply(r.cells, r.line, header?.columns ?? []);
  } else if (mode === 'whole') {
    const text = (await store.getText(KEY)) ?? '';
    let header: string[] | undefined;
    for (const r of wholeFileCsvRecords(text)) {
      if (header) apply(r.cells, r.line, header);
      else header = r.cells.map((c) => c.trim());
    }
  }
  return {
    rows,
    mapped,
    ms: Math.round(performance.now() - started),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
};

const inChild = (mode: string, dir: string) =>
  JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--imports-worker', mode, dir], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }),
  ) as Awaited<ReturnType<typeof readIn>>;

export const importsBench = async () => {
  const rows = Number(process.env.PULSE_BENCH_IMPORT_ROWS ?? 2_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'pulse-bench-imports-'));
  try {
    mkdirSync(join(dir, 'uploads'));
    await writeCsv(join(dir, KEY), rows);
    const bytes = statSync(join(dir, KEY)).size;
    const idle = inChild('idle', dir);
    const streamed = inChild('stream', dir);
    const whole = inChild('whole', dir);
    const rate = (r: { rows: number; ms: number }) => Math.round(r.rows / (r.ms / 1000));
    return {
      rows,
      fileMb: +(bytes / 2 ** 20).toFixed(1),
      idlePeakRssMb: idle.peakRssMb,
      streamed: { ...streamed, rowsPerSecond: rate(streamed) },
      wholeFile: { ...whole, rowsPerSecond: rate(whole) },
      rowsPerSecondRatio: +(rate(streamed) / rate(whole)).toFixed(2),
      peakRssRatio: +(streamed.peakRssMb / whole.peakRssMb).toFixed(2),
      sameRows: streamed.rows === whole.rows && streamed.mapped === whole.mapped,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const at = process.argv.indexOf('--imports-worker');
if (at !== -1) {
  const [mode, dir] = process.argv.slice(at + 1) as ['stream' | 'whole' | 'idle', string];
  process.stdout.write(JSON.stringify(await readIn(mode, dir)));
}
