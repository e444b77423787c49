/**
 * A value loaded on demand and kept for `ttlMs` per container: experiment definitions, segment
 * rules, the signing key. Concurrent callers share one load; a failed load is not kept, so the
 * next caller tries again.
 */
export class Cached<T> {
  private cached: { value: Promise<T>; until: number } | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    const t = this.now();
    if (!this.cached || this.cached.until <= t) {
      const value = this.load();
      const entry = { value, until: t + this.ttlMs };
      this.cached = entry;
      value.catch(() => {
        if (this.cached === entry) this.cached = undefined;
      });
    }
    return this.cached.value;
  }
}
