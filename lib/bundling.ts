/**
 * esbuild settings for every function bundle, as plain data: the CDK stack's NodejsFunction
 * bundling and the bench's size/init measurements both read them, so the bench measures what
 * ships.
 */
export const bundling = {
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  sourcemap: true,
  /** ESM entry points of the AWS SDK tree-shake far better than its CJS ones. */
  mainFields: ['module', 'main'],
  /** ESM output still meets CommonJS `require` inside dependencies. */
  banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
} as const;

/**
 * Files a function reads at run time, copied beside its bundle (paths relative to the project
 * root → file name in the bundle). console (issue 18): Swagger UI for `/api/docs`.
 */
export const bundledFiles: Readonly<Record<string, readonly string[]>> = {
  'service/docs': [
    'node_modules/swagger-ui-dist/swagger-ui-bundle.js',
    'node_modules/swagger-ui-dist/swagger-ui.css',
  ],
};
