import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { engagementBusName, eventBusArn } from '../event-buses';

export interface EventBusesProps {
  readonly stage: string;
  /** `pulse:eventBuses`: buses (names in this account and region, or ARNs) besides the stack's own. */
  readonly extraBuses: readonly string[];
}

/**
 * eventbridge destinations (docs/destinations.md): the bus the stack creates for Pulse's
 * engagement, `pulse-engagement-<stage>`, where rules fan events out to Step Functions, SNS, API
 * destinations…; and the bounded set of buses the delivering functions may put events on (this one
 * plus `pulse:eventBuses`), which lib/constructs/functions.ts grants `events:PutEvents` on — never `*`.
 * A bus of another account also needs a resource policy there allowing this stack's roles.
 */
export class EventBuses extends Construct {
  readonly engagementBus: events.EventBus;
  /** Every bus a module declaring `eventBuses` may put events on, by ARN. */
  readonly grantArns: readonly string[];

  constructor(scope: Construct, id: string, props: EventBusesProps) {
    super(scope, id);
    this.engagementBus = new events.EventBus(this, 'Engagement', {
      eventBusName: engagementBusName(props.stage),
      description: `Pulse ${props.stage}: engagement events from eventbridge destinations`,
    });
    const stack = Stack.of(this);
    const where = { partition: stack.partition, region: stack.region, account: stack.account };
    this.grantArns = [this.engagementBus.eventBusArn, ...props.extraBuses.map((b) => eventBusArn(b, where))];
    new CfnOutput(stack, 'EngagementBusName', {
      value: this.engagementBus.eventBusName,
      description:
        'The bus eventbridge destinations may use (settings.eventBusName); add rules to fan events out',
    });
    new CfnOutput(stack, 'EngagementBusArn', { value: this.engagementBus.eventBusArn });
  }
}
