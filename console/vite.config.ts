/**
 * The console's build: Preact's JSX through Vite's own transform (no plugin), served under
 * `/console/`. `npm start` builds it on demand (lib/local/console.ts); the CDK stack deploys
 * console/dist (bin/console-build.ts builds it first).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    chunkSizeWarningLimit: 200,
    // Rolldown's per-plugin timing report is noise in npm start and test output.
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  logLevel: 'warn',
});
