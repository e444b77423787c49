/**
 * EventBridge buses the `eventbridge` destinations may put events on (docs/destinations.md): the
 * bus the stack creates for Pulse, `pulse-engagement-<stage>`, and the buses an operator lists in
 * `pulse:eventBuses` (locally PULSE_EVENT_BUSES). IAM grants `events:PutEvents` on exactly these
 * (lib/constructs/event-buses.ts), and the local stack's access guard holds calls to the same set.
 * Plain data, no aws-cdk-lib.
 */

export const EVENT_BUS_ACTIONS: readonly string[] = ['events:PutEvents'];

export const engagementBusName = (stage: string): string => `pulse-engagement-${stage}`;

/** PutEvents' EventBusName: a name (this account and region) or a bus ARN. */
const BUS_ARN = /^arn:aws[\w-]*:events:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:event-bus\/[/.\-_A-Za-z0-9]{1,256}$/;
const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;

/** The name part of a bus name or ARN (what the local endpoint files events under). */
export const busNameOf = (nameOrArn: string): string =>
  nameOrArn.startsWith('arn:')
    ? nameOrArn.slice(nameOrArn.indexOf(':event-bus/') + ':event-bus/'.length)
    : nameOrArn;

/** The ARN IAM evaluates for a bus: an ARN as given, a name in the caller's account and region. */
export const eventBusArn = (
  nameOrArn: string,
  where: { partition: string; region: string; account: string },
): string =>
  nameOrArn.startsWith('arn:')
    ? nameOrArn
    : `arn:${where.partition}:events:${where.region}:${where.account}:event-bus/${nameOrArn}`;

/**
 * `pulse:eventBuses` / PULSE_EVENT_BUSES: bus names or ARNs, comma-separated (or a JSON array in
 * cdk.json). Throws naming the first entry that is neither; `*` is refused: the grant stays bounded.
 */
export const parseEventBuses = (raw: unknown): string[] => {
  if (raw === undefined || raw === '') return [];
  const list = (Array.isArray(raw) ? raw : String(raw).split(','))
    .map((s) => String(s).trim())
    .filter(Boolean);
  for (const bus of list)
    if (!(BUS_ARN.test(bus) || (!bus.startsWith('arn:') && BUS_NAME.test(bus))))
      throw new Error(`${JSON.stringify(bus)} is not an event bus name or ARN`);
  return [...new Set(list)];
};
