/**
 * Synthesizes the Pulse stack for infra tests: call it once per test file (at module level or in
 * beforeAll) and assert on what it returns.
 *
 * Bundling is skipped (`aws:cdk:bundling-stacks: []`, so NodejsFunction does not run esbuild) and
 * the handler entries are throwaway stubs in a temp folder: the template does not depend on the
 * handlers' code, and the tests neither wait for it nor break while it is being written.
 * `bundle: true` runs the real local esbuild over the stubs instead.
 */

import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, type CfnElement, type IResolvable, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { archive } from '../../lib/archive';
import { PulseStack } from '../../lib/pulse-stack';
import { fallbackRoute, handlerModules } from '../../lib/routes';
import { schedules } from '../../lib/schedules';
import { failureIndexer, streamConsumers } from '../../lib/stream';
import { modelWorkflow } from '../../lib/workflows';

export interface Synthesized {
  readonly app: App;
  readonly assembly: CloudAssembly;
  readonly stack: PulseStack;
  readonly template: Template;
  /** The template as plain JSON, for walks the assertions API does not offer. */
  readonly json: CfnTemplate;
  /** Where the template was written (for tools that read files). */
  readonly templatePath: string;
  /** The folder holding the stub entries and the cloud assembly. */
  readonly workDir: string;
  /** Logical id of a construct's CloudFormation resource (the construct or its default child). */
  readonly logicalId: (construct: IConstruct) => string;
}

export interface CfnResourceJson {
  readonly Type: string;
  /** Every resource the stack synthesizes has Properties; read it as such. */
  readonly Properties: Record<string, unknown>;
  readonly [key: string]: unknown;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResourceJson>;
  readonly Outputs?: Record<string, { Value: unknown }>;
  readonly [key: string]: unknown;
}

/** Every handler module the stack builds a function for: routes, fallback, consumers, schedules. */
export const allHandlerModules = (): string[] => [
  ...new Set([
    ...handlerModules().keys(),
    fallbackRoute.handler,
    ...streamConsumers.map((c) => c.handler),
    ...schedules.map((s) => s.handler),
    failureIndexer.handler,
    archive.transform.handler,
    // predictions (docs/models.md)
    modelWorkflow.handler,
  ]),
];

/** Stub entries the stack can point at; `bodies` overrides a module's source. */
export const writeStubFunctions = (dir: string, bodies: Record<string, string> = {}): string => {
  for (const handlerModule of allHandlerModules()) {
    const file = join(dir, `${handlerModule}.ts`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      bodies[handlerModule] ?? 'export const handler = async () => ({ statusCode: 204 });\n',
    );
  }
  return dir;
};

export interface SynthOptions {
  /** Extra CDK context (e.g. `pulse:*` keys). */
  readonly context?: Record<string, unknown>;
  /** Run real local esbuild bundling (default: skipped). */
  readonly bundle?: boolean;
  /** Source of stub entries by handler module. */
  readonly stubBodies?: Record<string, string>;
}

const REPO = join(import.meta.dirname, '../..');

export const synth = (options: SynthOptions = {}): Synthesized => {
  // A throwaway project root: the stubs, the lockfile NodejsFunction insists on, and the
  // repository's node_modules for esbuild to resolve from.
  const workDir = mkdtempSync(join(tmpdir(), 'pulse-infra-'));
  process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));
  const functionsDir = writeStubFunctions(join(workDir, 'functions'), options.stubBodies);
  copyFileSync(join(REPO, 'package-lock.json'), join(workDir, 'package-lock.json'));
  symlinkSync(join(REPO, 'node_modules'), join(workDir, 'node_modules'), 'dir');
  const cdkJson = JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({
    outdir: join(workDir, 'cdk.out'),
    // The tests run @aws/cloudformation-validate themselves (compliance.test.ts), once.
    builtinCloudFormationValidation: false,
    context: {
      // The feature flags and pulse:* defaults the CLI would read from cdk.json.
      ...cdkJson.context,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const stack = new PulseStack(app, 'PulseTest', { functionsDir, projectRoot: workDir });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const json = artifact.template as CfnTemplate;
  const logicalId = (construct: IConstruct): string => {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return Stack.of(construct).resolve(element.logicalId as unknown as IResolvable) as string;
  };
  return {
    app,
    assembly,
    stack,
    template: Template.fromJSON(json),
    json,
    templatePath: artifact.templateFullPath,
    workDir,
    logicalId,
  };
};

/** A resource by logical id; throws when the template has none. */
export const resourceById = (json: CfnTemplate, id: string): CfnResourceJson => {
  const resource = json.Resources[id];
  if (!resource) throw new Error(`no resource ${id} in the template`);
  return resource;
};

/** Resources of one type, by logical id. */
export const resourcesOfType = (json: CfnTemplate, type: string): [string, CfnResourceJson][] =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type);
