/**
 * Step Functions workflows, as plain data (no aws-cdk-lib): the CDK stack builds each from its
 * entry (lib/constructs/models.ts), and the local stack runs the same steps in process.
 */

export interface WorkflowDef {
  readonly name: string;
  /** Handler module serving every step (the event names the step). */
  readonly handler: string;
  /** How often the workflow starts to look for due runs. */
  readonly everyMinutes: number;
  /** Scan segments of the extract and score steps (each a parallel Lambda task). */
  readonly segments: number;
  readonly summary: string;
}

// predictions (docs/models.md)
export const modelWorkflow = {
  name: 'models',
  handler: 'models/steps',
  everyMinutes: 15,
  segments: 8,
  summary: 'Train, evaluate, gate, publish and score the models that are requested or due',
} as const satisfies WorkflowDef;
