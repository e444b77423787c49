/**
 * Where each local event source mapping poller has got to in its shard, per stream incarnation
 * and consumer, kept in a JSON file across restarts (as the real mapping keeps its position), or
 * in memory only.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Sentinel checkpoint for a shard whose records have all been consumed and which is closed. */
export const SHARD_END = 'SHARD_END';

export class CheckpointStore {
  private data: Record<string, Record<string, string>> = {};
  private writing: Promise<void> = Promise.resolve();
  constructor(
    private readonly file: string | undefined,
    private readonly streamKey: string,
    /** Told when the checkpoint file cannot be written: a restart would then replay from older positions. */
    private readonly onWriteError: (error: unknown) => void = (error) =>
      console.error('[local esm] could not write the checkpoint file', error),
  ) {}

  async load() {
    if (!this.file) return;
    try {
      const all = JSON.parse(await readFile(this.file, 'utf8')) as Record<
        string,
        Record<string, Record<string, string>>
      >;
      this.data = all[this.streamKey] ?? {};
    } catch {
      this.data = {};
    }
  }

  get(consumer: string, shardId: string): string | undefined {
    return this.data[consumer]?.[shardId];
  }

  set(consumer: string, shardId: string, value: string) {
    this.data[consumer] = { ...this.data[consumer], [shardId]: value };
    const file = this.file;
    if (!file) return;
    // Writes are chained so the file always holds the latest complete state.
    this.writing = this.writing.then(async () => {
      let all: Record<string, unknown> = {};
      try {
        all = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      } catch {
        // No file yet, or one a crash cut short: this write replaces it whole.
      }
      all[this.streamKey] = this.data;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, JSON.stringify(all, null, 2));
      await rename(`${file}.tmp`, file);
    });
    // The next write retries from the whole state; this one's failure is reported, not thrown.
    this.writing = this.writing.catch(this.onWriteError);
  }

  flush() {
    return this.writing;
  }
}
