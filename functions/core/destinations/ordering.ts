/**
 * Per-person order across delivery rounds (docs/destinations.md, "Order"). Pure.
 *
 * Two rules, for two kinds of vendor state:
 *  - Audience messages (segment.entered/left) describe state: at each attempt a message that
 *    disagrees with the person's membership as committed now (the last enter or leave trigger) is
 *    superseded — a later message carries the state — and never delivered stale. Every destination.
 *  - Vendors that apply a person's updates in arrival order (last write wins: HubSpot contact
 *    properties, Braze attributes) are "ordered": a person's message goes only when no message of
 *    theirs for that destination that comes before it in time is still waiting, and a person stops
 *    at their first message that must be retried (the later ones wait with it). Webhook receivers,
 *    Mixpanel, GA4 and HubSpot events get each message's time and order by it themselves.
 */
import type { Destination } from './definition';
import type { OutboundMessage } from './delivery';

/** Whether the destination's vendor applies a person's updates in arrival order. */
export const keepsPersonOrder = (d: Pick<Destination, 'type' | 'settings'>): boolean =>
  d.type === 'braze' || (d.type === 'hubspot' && d.settings.mode === 'properties');

export const isAudienceMessage = (m: OutboundMessage): boolean =>
  m.kind === 'segment.entered' || m.kind === 'segment.left';

/** The key of one (segment, person) membership in a set of memberships. */
export const membershipKey = (segment: string, personKey: string): string => `${segment}\u0000${personKey}`;

/**
 * An audience message that disagrees with the membership as it stands now: an `entered` for a person
 * no longer in the segment, a `left` for one back in it. Any other message never is.
 */
export const isSuperseded = (m: OutboundMessage, members: ReadonlySet<string>): boolean => {
  if (!isAudienceMessage(m) || m.segment === undefined || m.personKey === undefined) return false;
  return members.has(membershipKey(m.segment, m.personKey)) !== (m.kind === 'segment.entered');
};

/** Time order of a person's messages: `at`, then the id (two messages of the same instant). */
export const inTimeOrder = (a: OutboundMessage, b: OutboundMessage): number =>
  a.at.localeCompare(b.at) || a.messageId.localeCompare(b.messageId);

/**
 * One person's messages for an ordered destination: `ours` are in hand (claimed, or tried first by
 * the consumer), `others` wait in the outbox out of our hands (not due yet, or claimed elsewhere).
 * What comes before the earliest of `others` may go, in time order; the rest waits behind it.
 */
export const gate = <T extends { message: OutboundMessage }>(
  ours: readonly T[],
  others: readonly T[],
): { go: T[]; wait: T[]; blocker?: T } => {
  const sorted = [...ours].sort((a, b) => inTimeOrder(a.message, b.message));
  const blocker = [...others].sort((a, b) => inTimeOrder(a.message, b.message))[0];
  if (!blocker) return { go: sorted, wait: [] };
  const go = sorted.filter((i) => inTimeOrder(i.message, blocker.message) < 0);
  return { go, wait: sorted.slice(go.length), blocker };
};
