/**
 * The rate limit: per subject, RESOURCE_EXHAUSTED past the budget with a google.rpc.RetryInfo
 * detail and a message saying when to retry, and calls pass again once the bucket refilled.
 * The token bucket itself is checked on a fake clock (refill, burst, eviction, off at 0).
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { RetryInfo } from '../../shared/gen/google/rpc/error_details.js';
import { Status } from '../../shared/gen/google/rpc/status.js';
import { parseRateLimit, RateLimiter } from '../../server/api/rate-limiter.js';
import { grpcError, subjectToken } from '../support/access.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

function retryDelayMs(err: grpc.ServiceError): number | undefined {
  const raw = err.metadata.get('grpc-status-details-bin')[0] as Buffer | undefined;
  if (!raw) return undefined;
  const detail = Status.decode(raw).details.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo');
  if (!detail) return undefined;
  const delay = RetryInfo.decode(detail.value).retryDelay!;
  return Number(delay.seconds) * 1000 + delay.nanos / 1e6;
}

describe('rate limit (real runed)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  // 600 per minute = one call every 100 ms; a burst of 5.
  const BURST = 5;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false }, rateLimit: { perMinute: 600, burst: BURST } });
    c = clients(t.runed.grpcAddr);
  });
  after(async () => {
    c?.close();
    await t?.stop();
  });

  it('answers RESOURCE_EXHAUSTED past the budget, with RetryInfo and when to retry, then recovers', async () => {
    // Admin calls count too: make the subject with the root token, then spend the new subject's budget.
    const token = await subjectToken(c, t.token, 'rae', ['readonly']);
    const whoami = () => call(c.auth, c.auth.whoAmI, {}, auth(token));
    for (let i = 0; i < BURST; i++) await whoami();
    const err = await grpcError(whoami());
    expect(err.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).to.include('rate limit of 600 calls per minute').and.include('subject "rae"').and.match(/retry in [\d.]+s \(at \d{4}-/);
    const delay = retryDelayMs(err);
    expect(delay).to.be.greaterThan(0).and.at.most(100);

    // Another subject has its own bucket.
    expect((await call(c.auth, c.auth.whoAmI, {}, auth(t.token))).subject).to.equal('root');

    await new Promise((r) => setTimeout(r, delay! + 20));
    expect((await whoami()).subject).to.equal('rae');
    // ...and only one call's worth came back.
    expect((await grpcError(whoami())).code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    await new Promise((r) => setTimeout(r, 600));
    for (let i = 0; i < BURST; i++) await whoami();
  });

  it('limits streams at their start like unary calls', async () => {
    const token = await subjectToken(c, t.token, 'sam', ['readonly']);
    for (let i = 0; i < BURST; i++) await call(c.auth, c.auth.whoAmI, {}, auth(token));
    const stream = c.services.watchServices({ namespace: 'default', fromRevision: 0 }, auth(token));
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    expect(err.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
  });
});

describe('RateLimiter (token bucket on a fake clock)', () => {
  let now = 0;
  const clock = () => now;

  it('allows a burst, then one call per refill interval, and says how long to wait', () => {
    now = 0;
    const limiter = new RateLimiter({ perMinute: 60, burst: 3, now: clock });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).to.deep.equal([0, 0, 0]);
    expect(limiter.take('a')).to.equal(1000);
    now = 400;
    expect(limiter.take('a')).to.equal(600);
    now = 1000;
    expect(limiter.take('a')).to.equal(0);
    expect(limiter.take('a')).to.equal(1000);
    expect(limiter.take('b'), 'another key has its own bucket').to.equal(0);
  });

  it('defaults the burst to a minute of calls and never holds more', () => {
    now = 0;
    const limiter = new RateLimiter({ perMinute: 10, now: clock });
    for (let i = 0; i < 10; i++) expect(limiter.take('a')).to.equal(0);
    expect(limiter.take('a')).to.be.greaterThan(0);
    now = 3_600_000; // idle an hour: still only 10
    for (let i = 0; i < 10; i++) expect(limiter.take('a')).to.equal(0);
    expect(limiter.take('a')).to.be.greaterThan(0);
  });

  it('is off at 0 per minute', () => {
    const limiter = new RateLimiter({ perMinute: 0, now: clock });
    for (let i = 0; i < 1000; i++) expect(limiter.take('a')).to.equal(0);
    expect(limiter.size).to.equal(0);
  });

  it('keeps memory bounded: drops refilled buckets on its sweep and the least recently used beyond maxKeys', () => {
    now = 0;
    const limiter = new RateLimiter({ perMinute: 60, burst: 2, maxKeys: 100, now: clock });
    for (let i = 0; i < 1000; i++) limiter.take(`peer-${i}`);
    expect(limiter.size).to.equal(100);
    now = 120_000; // everyone refilled; the next take sweeps
    limiter.take('fresh');
    expect(limiter.size).to.equal(1);
  });

  it('parses --rate-limit values', () => {
    expect(parseRateLimit('6000/min')).to.equal(6000);
    expect(parseRateLimit('100/s')).to.equal(6000);
    expect(parseRateLimit('120/h')).to.equal(2);
    expect(parseRateLimit('50')).to.equal(50);
    expect(parseRateLimit('0')).to.equal(0);
    expect(() => parseRateLimit('fast')).to.throw('--rate-limit');
    expect(() => parseRateLimit('10/week')).to.throw('--rate-limit');
  });
});
