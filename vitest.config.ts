import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One process per test file: the local stack sets process.env for the handlers it imports.
    pool: 'forks',
    isolate: true,
    // Half again as many processes as cores (vitest caps a percentage at the core count): e2e and integration files spend most of their time
    // waiting on their local stack (polling with deadlines), so a third process on two cores
    // finishes the suite in about 6 minutes instead of 9–10.
    maxWorkers: Math.ceil(availableParallelism() * 1.5),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Handlers' structured logs are for CloudWatch; tests assert behaviour, not log lines.
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
