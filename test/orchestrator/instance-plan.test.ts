import { expect } from 'chai';
import { InstanceStatus } from '../../shared/gen/rune/v1/instance.js';
import { decideAfterExit, restartDelay, DEFAULT_BACKOFF, type RestartPolicy } from '../../server/orchestrator/instance-plan.js';

const now = new Date('2026-01-01T12:00:00Z');
const exit = (code: number, signal = '') => ({ code, signal, daemonized: false, at: now });
const status = (over: Partial<InstanceStatus> = {}) => InstanceStatus.fromPartial({ phase: 'ready', startedAt: new Date(now.getTime() - 5000), ...over });

describe('restart backoff', () => {
  it('restarts at once after a healthy run, then 10 s doubling, capped at 5 min', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => restartDelay(n) / 1000)).to.deep.equal([0, 10, 20, 40, 80, 160, 300, 300, 300]);
  });
});

describe('decideAfterExit', () => {
  const rows: { policy: RestartPolicy; code: number; signal?: string; restart: boolean; phase: string; reason: string }[] = [
    { policy: 'Always', code: 0, restart: true, phase: 'exited', reason: 'Completed' },
    { policy: 'Always', code: 1, restart: true, phase: 'failed', reason: 'Error' },
    { policy: 'Always', code: -1, signal: 'SIGKILL', restart: true, phase: 'failed', reason: 'Error' },
    { policy: 'OnFailure', code: 0, restart: false, phase: 'exited', reason: 'Completed' },
    { policy: 'OnFailure', code: 2, restart: true, phase: 'failed', reason: 'Error' },
    { policy: 'Never', code: 0, restart: false, phase: 'exited', reason: 'Completed' },
    { policy: 'Never', code: 3, restart: false, phase: 'failed', reason: 'Error' },
  ];
  for (const row of rows) {
    it(`${row.policy}, exit ${row.code}${row.signal ? ` ${row.signal}` : ''} → ${row.restart ? 'restart' : 'stay'} (${row.phase})`, () => {
      const d = decideAfterExit({ policy: row.policy, exit: exit(row.code, row.signal), status: status(), now });
      expect(d.restart).to.equal(row.restart);
      expect(d.status.phase).to.equal(row.phase);
      expect(d.status.reason).to.equal(row.reason);
      expect(d.status.lastExitCode).to.equal(row.code);
      expect(d.status.pid).to.equal(0);
      expect(d.status.nextRestartAt === undefined).to.equal(!row.restart);
    });
  }

  it('counts restarts and backs off a crash loop, visible as CrashLoopBackOff', () => {
    const d = decideAfterExit({ policy: 'Always', exit: exit(1), status: status({ restartCount: 4, consecutiveRestarts: 2 }), now });
    expect(d.status.restartCount).to.equal(5);
    expect(d.status.consecutiveRestarts).to.equal(3);
    expect(d.status.reason).to.equal('CrashLoopBackOff');
    expect(d.status.nextRestartAt!.getTime() - now.getTime()).to.equal(20_000);
    expect(d.status.message).to.include('restarting in 20s');
  });

  it('resets the backoff after a run of 10 minutes', () => {
    const longRun = status({ consecutiveRestarts: 6, startedAt: new Date(now.getTime() - DEFAULT_BACKOFF.resetAfterMs) });
    const d = decideAfterExit({ policy: 'Always', exit: exit(1), status: longRun, now });
    expect(d.status.consecutiveRestarts).to.equal(1);
    expect(d.status.nextRestartAt!.getTime()).to.equal(now.getTime());
  });

  it('a liveness failure restarts under OnFailure even though runed stopped it', () => {
    const d = decideAfterExit({ policy: 'OnFailure', exit: exit(0), status: status(), now, cause: 'liveness probe failed: HTTP 500' });
    expect(d.restart).to.equal(true);
    expect(d.status.reason).to.equal('LivenessFailed');
    expect(d.status.message).to.include('HTTP 500');
  });

  it('reports a process that daemonized', () => {
    const d = decideAfterExit({ policy: 'Never', exit: { ...exit(0), daemonized: true }, status: status(), now });
    expect(d.status.reason).to.equal('Daemonized');
    expect(d.status.message).to.include('daemonized');
  });
});
