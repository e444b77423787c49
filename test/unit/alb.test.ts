import type { ALBEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { albToHttpApiEvent, httpApiResultToAlb, isAlbEvent } from '../../functions/http/alb';

const albEvent = (over: Partial<ALBEvent> = {}): ALBEvent => ({
  requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1' } },
  httpMethod: 'POST',
  path: '/api/engagement/video-play',
  queryStringParameters: {},
  headers: { 'Content-Type': 'application/json', 'x-forwarded-for': '203.0.113.9, 198.51.100.7' },
  body: '{}',
  isBase64Encoded: false,
  ...over,
});

describe('the ALB event, read as API Gateway would hand it over', () => {
  it('is told apart from an HTTP API event', () => {
    expect(isAlbEvent(albEvent())).toBe(true);
    expect(isAlbEvent({ version: '2.0', requestContext: { http: {} } })).toBe(false);
    expect(isAlbEvent(undefined)).toBe(false);
  });

  it('gets the route key and path parameters of the route table, headers in lower case', () => {
    const event = albToHttpApiEvent(albEvent());
    expect(event.routeKey).toBe('POST /api/engagement/{type}');
    expect(event.pathParameters).toEqual({ type: 'video-play' });
    expect(event.headers['content-type']).toBe('application/json');
    // ALB appends the client's address last.
    expect(event.requestContext.http.sourceIp).toBe('198.51.100.7');
    expect(event.body).toBe('{}');
  });

  it('decodes the query string ALB leaves URL-encoded, and keeps the raw one', () => {
    const event = albToHttpApiEvent(
      albEvent({
        httpMethod: 'GET',
        path: '/api/promotion',
        queryStringParameters: { placement: 'home%20hero', tz: 'Asia%2FKolkata', bad: '%E0%A4%A' },
      }),
    );
    expect(event.queryStringParameters).toEqual({
      placement: 'home hero',
      tz: 'Asia/Kolkata',
      bad: '%E0%A4%A',
    });
    expect(event.rawQueryString).toBe('placement=home%20hero&tz=Asia%2FKolkata&bad=%E0%A4%A');
  });

  it('has route key $default for what the route table does not hold', () => {
    expect(albToHttpApiEvent(albEvent({ path: '/nowhere' })).routeKey).toBe('$default');
    expect(albToHttpApiEvent(albEvent({ httpMethod: 'DELETE' })).routeKey).toBe('$default');
  });
});

describe('the result, written back as ALB reads it', () => {
  it('carries a status description and the same headers and body', () => {
    expect(
      httpApiResultToAlb({
        statusCode: 202,
        headers: { 'content-type': 'application/json' },
        body: '{"accepted":1}',
      }),
    ).toEqual({
      statusCode: 202,
      statusDescription: '202 Accepted',
      headers: { 'content-type': 'application/json' },
      body: '{"accepted":1}',
      isBase64Encoded: false,
    });
  });
});
