/** The minute a scheduled run stands for: an EventBridge scheduled event's `time`. Pure. */
export const scheduledTime = (event: unknown): Date | undefined => {
  const time = (event as { time?: unknown } | undefined)?.time;
  if (typeof time !== 'string') return undefined;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms);
};
