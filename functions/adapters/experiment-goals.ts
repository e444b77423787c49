/**
 * Experiment goals for the consumer's conversion attribution: read from the experiment
 * definitions (variants table, `experiments` partition) and cached briefly per container.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Goal } from '../core/person';
import { queryPartition } from './dynamo';

const TTL_MS = 30_000;

export const cachedGoals = (db: DynamoDBDocumentClient, variantsTable: string) => {
  let cache: { at: number; goals: Promise<Map<string, Goal>> } | undefined;
  return (): Promise<Map<string, Goal>> => {
    if (!cache || Date.now() - cache.at > TTL_MS) {
      const goals = queryPartition(db, variantsTable, 'experiments').then(
        (items) =>
          new Map(
            items.flatMap((i) => {
              const goal = i.goal as Goal | undefined;
              return goal?.type ? [[i.sk as string, goal] as const] : [];
            }),
          ),
      );
      cache = { at: Date.now(), goals };
      goals.catch(() => {
        cache = undefined;
      });
    }
    return cache.goals;
  };
};
