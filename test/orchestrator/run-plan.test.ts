/**
 * The run controller's pure decisions: next step without a process, the status after an
 * attempt, retry delays, the cancel convention and what a status-file report does.
 */
import { expect } from 'chai';
import { Run, type RunAttempt } from '../../shared/gen/rune/v1/run.js';
import { cancelReasonCode, deadlineAt, decideAfterAttempt, nextStep, retryDelayMs, DEFAULT_RETRY } from '../../server/orchestrator/run-plan.js';
import { applyStatusReport, parseStatusReport } from '../../server/orchestrator/status-report.js';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const retry = { retryBackoffMs: 100, maxRetryBackoffMs: 1000 };

function attempt(number: number, over: Partial<RunAttempt> = {}): RunAttempt {
  return { number, pid: 100 + number, processStartTime: 7, startedAt: ago(5000), finishedAt: undefined, exitCode: -1, exitSignal: '', reason: '', ...over };
}

/** A run, running by default with one open attempt. */
function aRun(over: { backoffLimit?: number; deadline?: number; cancel?: string; phase?: string; attempts?: RunAttempt[]; nextAttemptAt?: Date; startedAt?: Date } = {}): Run {
  return Run.fromPartial({
    metadata: { name: '01jrun', namespace: 'ns' },
    spec: {
      job: 'j',
      source: 'local',
      template: { command: 'true', backoffLimit: over.backoffLimit, activeDeadlineSeconds: over.deadline },
      cancelRequested: over.cancel !== undefined,
      cancelReason: over.cancel ?? '',
    },
    status: {
      phase: over.phase ?? 'running',
      attempts: over.attempts ?? [attempt(1)],
      startedAt: over.startedAt ?? ago(5000),
      nextAttemptAt: over.nextAttemptAt,
    },
  });
}

describe('run plan', () => {
  it('retry delay starts at retryBackoffMs, doubles, and is capped (default 10 s → 5 min)', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, retry))).to.deep.equal([100, 200, 400, 800, 1000]);
    expect([1, 2, 6, 7].map((n) => retryDelayMs(n, DEFAULT_RETRY) / 1000)).to.deep.equal([10, 20, 300, 300]);
  });

  it('"replaced ..." cancel reasons end a run as Replaced, any other as Cancelled', () => {
    expect(cancelReasonCode('replaced by run 01abc')).to.equal('Replaced');
    expect(cancelReasonCode('Replaced by a newer scheduled run')).to.equal('Replaced');
    expect(cancelReasonCode('cancelled by request')).to.equal('Cancelled');
    expect(cancelReasonCode('')).to.equal('Cancelled');
  });

  it('the deadline counts from the run start; none without activeDeadlineSeconds or before the start', () => {
    expect(deadlineAt(aRun({ deadline: 3, startedAt: ago(1000) }))?.getTime()).to.equal(now.getTime() + 2000);
    expect(deadlineAt(aRun())).to.equal(undefined);
    expect(deadlineAt(Run.fromPartial({ spec: { template: { activeDeadlineSeconds: 3 } }, status: { phase: 'pending' } }))).to.equal(undefined);
  });

  describe('nextStep (no process)', () => {
    const rows: { name: string; run: Run; expected: unknown }[] = [
      { name: 'pending → start attempt 1', run: aRun({ phase: 'pending', attempts: [], startedAt: undefined as never }), expected: { action: 'start', attempt: 1 } },
      { name: 'open attempt → none (adoption decides)', run: aRun(), expected: { action: 'none' } },
      { name: 'terminal → none', run: aRun({ phase: 'finished', attempts: [attempt(1, { finishedAt: ago(1) })] }), expected: { action: 'none' } },
      {
        name: 'retry due later → wait',
        run: aRun({ attempts: [attempt(1, { finishedAt: ago(10) })], nextAttemptAt: new Date(now.getTime() + 250) }),
        expected: { action: 'wait', ms: 250 },
      },
      { name: 'retry due → start the next attempt', run: aRun({ attempts: [attempt(1, { finishedAt: ago(10) })], nextAttemptAt: ago(1) }), expected: { action: 'start', attempt: 2 } },
      {
        name: 'retry later than the deadline → wait for the deadline',
        run: aRun({ deadline: 6, attempts: [attempt(1, { finishedAt: ago(10) })], nextAttemptAt: new Date(now.getTime() + 5000) }),
        expected: { action: 'wait', ms: 1000 },
      },
    ];
    for (const row of rows) it(row.name, () => expect(nextStep(row.run, now)).to.deep.equal(row.expected));

    it('a pending run cancelled before its start simply ends cancelled', () => {
      const step = nextStep(aRun({ phase: 'pending', attempts: [], cancel: 'cancelled by alice' }), now);
      expect(step).to.deep.include({ action: 'end' });
      expect(step.action === 'end' && step.status).to.deep.include({ phase: 'cancelled', reason: 'Cancelled', message: 'cancelled by alice', lastChange: 'finished' });
    });

    it('between attempts past the deadline → failed DeadlineExceeded', () => {
      const step = nextStep(aRun({ deadline: 2, attempts: [attempt(1, { finishedAt: ago(10) })], nextAttemptAt: new Date(now.getTime() + 1) }), now);
      expect(step.action === 'end' && step.status).to.deep.include({ phase: 'failed', reason: 'DeadlineExceeded' });
    });
  });

  describe('decideAfterAttempt', () => {
    const rows: { name: string; run: Run; exitCode: number; signal?: string; cause?: 'Cancelled' | 'DeadlineExceeded' | 'ProcessVanished' | 'StartFailed'; phase: string; reason: string; attemptReason: string; retry?: number }[] = [
      { name: 'exit 0 → finished', run: aRun(), exitCode: 0, phase: 'finished', reason: 'Completed', attemptReason: 'Completed' },
      { name: 'exit 3, retries left → Retrying', run: aRun({ backoffLimit: 2 }), exitCode: 3, phase: 'running', reason: 'Retrying', attemptReason: 'Failed', retry: 100 },
      {
        name: 'exit 3 on the 2nd attempt → retry after twice the delay',
        run: aRun({ backoffLimit: 2, attempts: [attempt(1, { finishedAt: ago(100), exitCode: 3 }), attempt(2)] }),
        exitCode: 3,
        phase: 'running',
        reason: 'Retrying',
        attemptReason: 'Failed',
        retry: 200,
      },
      {
        name: 'exit 3, backoffLimit used up → BackoffLimitExceeded',
        run: aRun({ backoffLimit: 1, attempts: [attempt(1, { finishedAt: ago(100), exitCode: 3 }), attempt(2)] }),
        exitCode: 3,
        phase: 'failed',
        reason: 'BackoffLimitExceeded',
        attemptReason: 'Failed',
      },
      { name: 'backoffLimit 0 → no retry', run: aRun({ backoffLimit: 0 }), exitCode: 1, phase: 'failed', reason: 'BackoffLimitExceeded', attemptReason: 'Failed' },
      { name: 'killed by a signal counts as a failure', run: aRun({ backoffLimit: 0 }), exitCode: -1, signal: 'SIGKILL', phase: 'failed', reason: 'BackoffLimitExceeded', attemptReason: 'Failed' },
      { name: 'deadline → failed, no retry', run: aRun({ backoffLimit: 5, deadline: 1 }), exitCode: 143, cause: 'DeadlineExceeded', phase: 'failed', reason: 'DeadlineExceeded', attemptReason: 'DeadlineExceeded' },
      { name: 'cancel → cancelled', run: aRun({ backoffLimit: 5, cancel: 'cancelled by request' }), exitCode: 143, cause: 'Cancelled', phase: 'cancelled', reason: 'Cancelled', attemptReason: 'Cancelled' },
      { name: 'replaced → cancelled, Replaced', run: aRun({ cancel: 'replaced by run 01x' }), exitCode: 143, cause: 'Cancelled', phase: 'cancelled', reason: 'Replaced', attemptReason: 'Cancelled' },
      { name: 'vanished → failed, no retry', run: aRun({ backoffLimit: 5 }), exitCode: -1, cause: 'ProcessVanished', phase: 'failed', reason: 'ProcessVanished', attemptReason: 'ProcessVanished' },
      { name: 'could not start, no retries left → StartFailed', run: aRun({ backoffLimit: 0 }), exitCode: -1, cause: 'StartFailed', phase: 'failed', reason: 'StartFailed', attemptReason: 'StartFailed' },
      { name: 'could not start, retries left → Retrying', run: aRun({ backoffLimit: 1 }), exitCode: -1, cause: 'StartFailed', phase: 'running', reason: 'Retrying', attemptReason: 'StartFailed', retry: 100 },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const patch = decideAfterAttempt(row.run, { exitCode: row.exitCode, exitSignal: row.signal ?? '', at: now, cause: row.cause, message: 'why' }, retry);
        expect(patch.phase).to.equal(row.phase);
        expect(patch.reason).to.equal(row.reason);
        const last = patch.attempts!.at(-1)!;
        expect(patch.attempts!.length).to.equal(row.run.status!.attempts.length);
        expect(last).to.deep.include({ exitCode: row.exitCode, exitSignal: row.signal ?? '', reason: row.attemptReason, finishedAt: now, pid: row.run.status!.attempts.at(-1)!.pid });
        expect(patch.nextAttemptAt?.getTime()).to.equal(row.retry === undefined ? undefined : now.getTime() + row.retry);
        expect(patch.lastChange).to.equal(row.retry === undefined ? 'finished' : 'updated');
        expect(patch.finishedAt?.getTime()).to.equal(row.retry === undefined ? now.getTime() : undefined);
      });
    }

    it('a cancelled run carries the cancel reason as its message', () => {
      const patch = decideAfterAttempt(aRun({ cancel: 'stop it, says bob' }), { exitCode: 143, exitSignal: '', at: now, cause: 'Cancelled' }, retry);
      expect(patch.message).to.equal('stop it, says bob');
    });

    it('never mutates the run', () => {
      const run = aRun({ backoffLimit: 1 });
      const before = JSON.stringify(run);
      decideAfterAttempt(run, { exitCode: 3, exitSignal: '', at: now }, retry);
      expect(JSON.stringify(run)).to.equal(before);
    });
  });
});

describe('status reports ($RUNE_STATUS_FILE)', () => {
  const at = now;
  it('a full report sets task, progress, message, phase and the heartbeat (lastChange progress)', () => {
    const parsed = parseStatusReport('{"phase": "blocked", "currentTask": "copy", "progress": {"finished": 3, "total": 10}, "message": "waiting"}');
    expect(parsed).to.have.property('report');
    const patch = applyStatusReport({ ...(parsed as { report: object }), modifiedAt: at });
    expect(patch).to.deep.equal({ phase: 'blocked', currentTask: 'copy', progress: { finished: 3, total: 10 }, message: 'waiting', lastHeartbeat: at, lastChange: 'progress' });
  });

  it('fields left out are left alone', () => {
    const parsed = parseStatusReport('{"progress": {"finished": 1, "total": 2}}') as { report: object };
    expect(applyStatusReport({ ...parsed, modifiedAt: at })).to.deep.equal({ progress: { finished: 1, total: 2 }, lastHeartbeat: at, lastChange: 'progress' });
  });

  const invalid: [string, RegExp][] = [
    ['{"progress": ', /not valid JSON/],
    ['[1, 2]', /array, not an object/],
    ['null', /null, not an object/],
    ['{"currentTask": 5}', /"currentTask" must be a string/],
    ['{"progress": {"finished": -1, "total": 2}}', /whole numbers/],
    ['{"progress": {"finished": 1.5, "total": 2}}', /whole numbers/],
    ['{"progress": "half"}', /"progress" must be an object/],
  ];
  for (const [text, problem] of invalid) {
    it(`${text} is ignored with a warning (lastChange warning)`, () => {
      const parsed = parseStatusReport(text);
      expect(parsed).to.have.property('problem').that.matches(problem);
      const patch = applyStatusReport({ problem: (parsed as { problem: string }).problem, modifiedAt: at });
      expect(Object.keys(patch).sort()).to.deep.equal(['lastChange', 'warning']);
      expect(patch.lastChange).to.equal('warning');
      expect(patch.warning).to.match(/^\$RUNE_STATUS_FILE /);
    });
  }

  it('a phase other than running or blocked is a warning; the other fields still apply', () => {
    const parsed = parseStatusReport('{"phase": "finished", "currentTask": "x"}') as { report: object };
    const patch = applyStatusReport({ ...parsed, modifiedAt: at });
    expect(patch.phase).to.equal(undefined);
    expect(patch.currentTask).to.equal('x');
    expect(patch.lastChange).to.equal('warning');
    expect(patch.warning).to.match(/phase "finished" is not accepted/);
  });

  it('a warning never quotes the content (it may hold anything)', () => {
    const parsed = parseStatusReport('password=hunter2') as { problem: string };
    expect(parsed.problem).not.to.include('hunter2');
  });
});
