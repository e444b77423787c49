/**
 * Analyses over the archive (docs/archive.md), asynchronous as Athena is: POST starts the query
 * and answers 202 with its id; GET answers its status and, once it succeeded, the result. The
 * request travels with the query itself (its `-- pulse:` header), so no table keeps jobs.
 */
import {
  allRows,
  type SqlEngine,
  sqlEngine,
  statementTag,
  taggedStatement,
} from '../adapters/analytics-engine';
import { type AnalysisRequest, analysisRequestSchema, analysisResult, analysisSql } from '../core/analytics';
import { Problem } from '../core/problem';
import { parseWith } from '../core/zod';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import { contract } from './analytics.contract';

/** The analysis a job was started for, or undefined when it is not one of ours. */
const requestOf = (statement: string): AnalysisRequest | undefined => {
  const tag = statementTag(statement) as { analysis?: unknown } | undefined;
  const parsed = tag?.analysis === undefined ? undefined : parseWith(analysisRequestSchema, tag.analysis);
  return parsed?.ok ? parsed.value : undefined;
};

const answer = async (engine: SqlEngine, queryId: string) => {
  const status = await engine.status(queryId);
  const request = status && requestOf(status.statement);
  if (!status || !request) throw new Problem(404, 'not_found', `No analysis ${queryId}`);
  return {
    queryId,
    status: status.state,
    request,
    ...(status.state === 'succeeded'
      ? { result: analysisResult(request, await allRows(engine, queryId)) }
      : {}),
    ...(status.error ? { error: status.error } : {}),
    ...(status.bytesScanned !== undefined ? { bytesScanned: status.bytesScanned } : {}),
    ...(status.submittedAt ? { submittedAt: status.submittedAt } : {}),
    ...(status.completedAt ? { completedAt: status.completedAt } : {}),
  };
};

export const handler = httpHandler({
  module: 'analytics/analytics',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: {
    startAnalysis: async (_request, { body }) => {
      const engine = await sqlEngine();
      const queryId = await engine.start(
        taggedStatement({ analysis: body }, analysisSql(engine.source(), body)),
      );
      return {
        status: 202,
        headers: { location: `/api/analytics/queries/${queryId}` },
        body: { queryId, status: 'queued' as const },
      };
    },
    getAnalysis: async (_request, { params: { queryId } }) => ({
      status: 200,
      body: await answer(await sqlEngine(), queryId),
    }),
  },
});
