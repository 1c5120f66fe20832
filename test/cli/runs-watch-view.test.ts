import { expect } from 'chai';
import { cutToWidth, RunsWatchView, type RunsWatchViewOptions } from '../../client/cli/output/runs-watch-view.js';
import { anEvent, aRun, NOW } from './run-fixtures.js';

const view = (options: Partial<RunsWatchViewOptions> = {}) => new RunsWatchView({ scope: 'namespace default', allNamespaces: false, wide: false, color: false, ...options });
const cells = (line: string) => line.split(/\s{3,}/);
/** The body rows of a frame as [id, status, progress, task]. */
const rows = (v: RunsWatchView) =>
  v
    .lines(NOW)
    .slice(2)
    .map((line) => cells(line))
    .map((c) => [c[0], c[2], c[3], c[4]]);

describe('runs watch view', () => {
  it('starts empty: the summary, the header and a waiting note', () => {
    const lines = view().lines(NOW);
    expect(lines[0]).to.equal('runs in namespace default · revision 0 · no runs');
    expect(cells(lines[1]!)).to.deep.equal(['ID', 'JOB', 'STATUS', 'PROGRESS', 'TASK', 'ATTEMPTS', 'STARTED', 'DURATION']);
    expect(lines[2]).to.equal('(no runs yet: waiting for events)');
  });

  it('a sequence of events: one row per run, updated in place, oldest first', () => {
    const v = view();
    const events = [
      anEvent(10, 'run:added', aRun({ id: '01b', phase: 'pending' })),
      anEvent(11, 'run:updated', aRun({ id: '01b', phase: 'running', startedAgo: 5 })),
      anEvent(12, 'run:added', aRun({ id: '01a', phase: 'pending' })), // an older id arrives later: still shown above
      anEvent(13, 'run:progress', aRun({ id: '01b', phase: 'running', startedAgo: 5, progress: { finished: 3, total: 10 }, task: 'step 3' })),
      anEvent(14, 'run:updated', aRun({ id: '01c', phase: 'blocked', startedAgo: 2, task: 'waiting for approval' })),
      anEvent(15, 'run:finished', aRun({ id: '01a', phase: 'failed', reason: 'StartFailed', startedAgo: 4, finishedAgo: 3 })),
    ];
    const frames = events.map((e) => {
      v.apply(e);
      return rows(v);
    });
    expect(frames[1]).to.deep.equal([['01b', 'running', '-', '-']]);
    expect(frames[3]).to.deep.equal([
      ['01a', 'pending', '-', '-'],
      ['01b', 'running', '3/10 ███░░░░░░░', 'step 3'],
    ]);
    expect(frames[5]).to.deep.equal([
      ['01a', 'failed', '-', '-'],
      ['01b', 'running', '3/10 ███░░░░░░░', 'step 3'],
      ['01c', 'blocked', '-', 'waiting for approval'],
    ]);
    expect(v.lines(NOW)[0]).to.equal('runs in namespace default · revision 15 · 1 running, 1 blocked, 1 failed');
  });

  it('keeps a deleted run, marked deleted', () => {
    const v = view();
    v.apply(anEvent(1, 'run:finished', aRun({ id: '01a', phase: 'finished', startedAgo: 9, finishedAgo: 1 })));
    v.apply(anEvent(2, 'run:deleted', aRun({ id: '01a', phase: 'finished', startedAgo: 9, finishedAgo: 1 })));
    expect(rows(v)).to.deep.equal([['01a', 'deleted', '-', '-']]);
    expect(v.lines(NOW)[0]).to.equal('runs in namespace default · revision 2 · no runs');
  });

  it('keeps at most maxRows: ended runs leave first, then the oldest active', () => {
    const v = view({ maxRows: 3 });
    v.apply(anEvent(1, 'run:updated', aRun({ id: '01a', phase: 'running', startedAgo: 9 })));
    v.apply(anEvent(2, 'run:finished', aRun({ id: '01b', phase: 'finished', startedAgo: 9, finishedAgo: 1 })));
    v.apply(anEvent(3, 'run:updated', aRun({ id: '01c', phase: 'running', startedAgo: 9 })));
    v.apply(anEvent(4, 'run:added', aRun({ id: '01d', phase: 'pending' })));
    expect(v.runs().map((r) => r.metadata!.name)).to.deep.equal(['01a', '01c', '01d']);
    v.apply(anEvent(5, 'run:added', aRun({ id: '01e', phase: 'pending' })));
    expect(v.runs().map((r) => r.metadata!.name)).to.deep.equal(['01c', '01d', '01e']);
  });

  it('a relist replaces every row; progress marks move the revision; notices show until the next message', () => {
    const v = view();
    v.apply(anEvent(5, 'run:added', aRun({ id: '01a', phase: 'pending' })));
    v.setNotice('reconnecting in 0.5s (attempt 1)');
    expect(v.lines(NOW)[0]).to.equal('runs in namespace default · revision 5 · 1 pending · reconnecting in 0.5s (attempt 1)');
    v.relist([aRun({ id: '01x', phase: 'running', startedAgo: 1 })], 90);
    expect(rows(v)).to.deep.equal([['01x', 'running', '-', '-']]);
    v.caughtUp(95);
    expect(v.lines(NOW)[0]).to.equal('runs in namespace default · revision 95 · 1 running');
  });

  it('-A: a NAMESPACE column; the same id in two namespaces is two rows', () => {
    const v = view({ allNamespaces: true, scope: 'every namespace' });
    v.apply(anEvent(1, 'run:added', aRun({ id: '01a', namespace: 'b', phase: 'pending' })));
    v.apply(anEvent(2, 'run:added', aRun({ id: '01a', namespace: 'a', phase: 'pending' })));
    const lines = v.lines(NOW);
    expect(cells(lines[1]!)[0]).to.equal('NAMESPACE');
    expect(lines.slice(2).map((l) => cells(l).slice(0, 2))).to.deep.equal([['a', '01a'], ['b', '01a']]);
  });

  it('colours STATUS by phase and the summary counts; deleted rows are dim', () => {
    const v = view({ color: true });
    v.apply(anEvent(1, 'run:updated', aRun({ id: '01a', phase: 'running', startedAgo: 1 })));
    v.apply(anEvent(2, 'run:finished', aRun({ id: '01b', phase: 'failed', startedAgo: 2, finishedAgo: 1 })));
    v.apply(anEvent(3, 'run:deleted', aRun({ id: '01c', phase: 'finished', startedAgo: 2, finishedAgo: 1 })));
    const [summary, header, a, b, c] = v.lines(NOW);
    expect(summary).to.include('\x1b[36m1 running\x1b[0m').and.include('\x1b[31m1 failed\x1b[0m');
    expect(header).to.not.include('\x1b');
    expect(a).to.include('\x1b[36mrunning\x1b[0m');
    expect(b).to.include('\x1b[31mfailed \x1b[0m');
    expect(c!.startsWith('\x1b[2m01c')).to.equal(true);
  });

  it('redraws in place: the first frame draws, later ones move up over the last one and clear below', () => {
    const v = view();
    const first = v.render(NOW);
    expect(first.startsWith('\r\x1b[2K')).to.equal(true);
    expect(first.endsWith('\x1b[J')).to.equal(true);
    expect(first.match(/\n/g)).to.have.length(3);
    v.apply(anEvent(1, 'run:added', aRun({ id: '01a', phase: 'pending' })));
    const second = v.render(NOW);
    expect(second.startsWith('\x1b[3A\r')).to.equal(true); // up over the 3 lines drawn before
    expect(second.match(/\n/g)).to.have.length(3);
    v.apply(anEvent(2, 'run:added', aRun({ id: '01b', phase: 'pending' })));
    expect(v.render(NOW).startsWith('\x1b[3A\r')).to.equal(true);
    expect(v.render(NOW).startsWith('\x1b[4A\r')).to.equal(true);
  });

  it('cuts lines to the terminal width, counting visible characters only', () => {
    expect(cutToWidth('abcdef', 4)).to.equal('abcd');
    expect(cutToWidth('abc', 4)).to.equal('abc');
    expect(cutToWidth('\x1b[31mabcdef\x1b[0m', 3)).to.equal('\x1b[31mabc\x1b[0m');
    expect(cutToWidth('ab\x1b[31mcd\x1b[0m', 10)).to.equal('ab\x1b[31mcd\x1b[0m');
    const v = view();
    v.apply(anEvent(1, 'run:progress', aRun({ id: '01a', phase: 'running', startedAgo: 1, task: 'x'.repeat(200) })));
    for (const line of v.lines(NOW, 60)) expect(line.length).to.be.at.most(60);
  });
});
