import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FailedBatchesPersonalData } from '../../functions/adapters/failure-store';
import { folderObjectStore } from '../../functions/adapters/object-store';
import { logger, metrics } from '../../functions/adapters/observability';

afterEach(() => vi.restoreAllMocks());

describe('failed batches as personal data', () => {
  it('leaves an indexed object that is no failure record in place, logged by key and counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-failures-'));
    writeFileSync(join(dir, 'k1'), 'not json, {"userId":"u-1"}');
    const store = new FailedBatchesPersonalData(
      folderObjectStore({ name: 'failures', dir }),
      {} as never,
      'quarantine',
    );
    const erasedIndex: string[][] = [];
    Object.assign(store, {
      index: {
        objectKeys: async () => ['k1'],
        erase: async (ids: readonly string[]) => {
          erasedIndex.push([...ids]);
          return 0;
        },
      },
    });
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const counted = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);

    expect(await store.export(['u-1'])).toEqual([]);
    expect(await store.erase(['u-1'])).toBe(0);
    expect(existsSync(join(dir, 'k1'))).toBe(true);
    expect(readFileSync(join(dir, 'k1'), 'utf8')).toContain('u-1');
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('not a failure record'), { key: 'k1' });
    expect(counted).toHaveBeenCalledWith('FailedBatchesUnreadable', 'Count', 1);
    expect(erasedIndex).toEqual([['u-1']]);
  });
});
