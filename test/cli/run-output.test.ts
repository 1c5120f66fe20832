import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { Run } from '../../shared/gen/rune/v1/run.js';
import { attemptExitText, describeJob, describeRun } from '../../client/cli/output/describe.js';
import { formatList, formatOne } from '../../client/cli/output/printers.js';
import {
  formatRuns,
  jobPrinter,
  progressText,
  runEventLine,
  runEventRecord,
  runPrinter,
  runStateLine,
  runSyncLine,
} from '../../client/cli/output/run-printers.js';
import { renderTable } from '../../client/cli/output/table.js';
import { parseEnvOverrides, parseStatuses, runFilterFromArgs, runId } from '../../client/cli/run-args.js';
import { UsageError } from '../../client/cli/global-options.js';
import { aJob, anEvent, aRun, NOW } from './run-fixtures.js';

const table = { wide: false, allNamespaces: false, now: NOW };
const columns = (line: string) => line.split(/\s{3,}/);

describe('progress bars', () => {
  const cases: Array<[{ finished: number; total: number } | undefined, string]> = [
    [undefined, '-'],
    [{ finished: 0, total: 0 }, '-'],
    [{ finished: 7, total: 0 }, '7'],
    [{ finished: 0, total: 10 }, '0/10 ░░░░░░░░░░'],
    [{ finished: 3, total: 10 }, '3/10 ███░░░░░░░'],
    [{ finished: 1, total: 3 }, '1/3 ███░░░░░░░'],
    [{ finished: 99, total: 100 }, '99/100 █████████░'], // never full before the end
    [{ finished: 10, total: 10 }, '10/10 ██████████'],
    [{ finished: 12, total: 10 }, '12/10 ██████████'], // over-reporting stays full, not longer
  ];
  for (const [progress, text] of cases) it(`${JSON.stringify(progress)} → ${text}`, () => expect(progressText(progress)).to.equal(text));

  it('takes a width', () => expect(progressText({ finished: 1, total: 4 }, 4)).to.equal('1/4 █░░░'));
});

describe('run table', () => {
  const runs = [
    aRun({ id: '01b', phase: 'running', progress: { finished: 3, total: 10 }, task: 'step 3', startedAgo: 90 }),
    aRun({ id: '01a', phase: 'failed', reason: 'BackoffLimitExceeded', attempts: 3, startedAgo: 600, finishedAgo: 300 }),
    aRun({ id: '01c', phase: 'pending' }),
  ];

  it('ID JOB STATUS PROGRESS TASK ATTEMPTS STARTED DURATION, one row per run in the given order', () => {
    const lines = formatList(runPrinter, runs, 'table', table).trimEnd().split('\n');
    expect(columns(lines[0]!)).to.deep.equal(['ID', 'JOB', 'STATUS', 'PROGRESS', 'TASK', 'ATTEMPTS', 'STARTED', 'DURATION']);
    expect(columns(lines[1]!)).to.deep.equal(['01b', 'backup', 'running', '3/10 ███░░░░░░░', 'step 3', '1', '90s', '90s']);
    expect(columns(lines[2]!)).to.deep.equal(['01a', 'backup', 'failed', '-', '-', '3', '10m', '5m']);
    expect(columns(lines[3]!)).to.deep.equal(['01c', 'backup', 'pending', '-', '-', '0', '-', '-']);
  });

  it('-A adds NAMESPACE first; wide adds SOURCE TRIGGER REASON', () => {
    const lines = formatList(runPrinter, runs, 'wide', { ...table, allNamespaces: true }).trimEnd().split('\n');
    expect(columns(lines[0]!)).to.deep.equal(['NAMESPACE', 'ID', 'JOB', 'STATUS', 'PROGRESS', 'TASK', 'ATTEMPTS', 'STARTED', 'DURATION', 'SOURCE', 'TRIGGER', 'REASON']);
    expect(columns(lines[2]!).slice(-3)).to.deep.equal(['local', 'manual', 'BackoffLimitExceeded']);
    expect(columns(lines[1]!)[0]).to.equal('default');
  });

  it('colours only the STATUS cells, by phase, keeping the plain layout', () => {
    const plain = formatRuns(runs, 'table', table, false);
    const coloured = formatRuns(runs, 'table', table, true);
    expect(coloured.replace(/\x1b\[\d+m/g, '')).to.equal(plain);
    const rows = coloured.split('\n');
    expect(rows[0]).to.not.include('\x1b');
    expect(rows[1]).to.include('\x1b[36mrunning\x1b[0m'); // cyan
    expect(rows[2]).to.include('\x1b[31mfailed \x1b[0m'); // red, padded to the column's width inside the colour
    expect(rows[3]).to.include('\x1b[2mpending\x1b[0m'); // dim
  });

  it('json, yaml and name', () => {
    expect(JSON.parse(formatList(runPrinter, runs, 'json', table)).items[0]).to.deep.equal(Run.toJSON(runs[0]!));
    expect(parseYaml(formatOne(runPrinter, runs[1]!, 'yaml', table))).to.deep.equal(Run.toJSON(runs[1]!));
    expect(formatList(runPrinter, runs, 'name', table)).to.equal('run/01b\nrun/01a\nrun/01c\n');
  });

  it('one line for --wait: progress and task while active; reason and duration at the end', () => {
    expect(runStateLine(runs[0]!, NOW, false)).to.equal('run/01b running  3/10 ███░░░░░░░  step 3');
    expect(runStateLine(runs[1]!, NOW, false)).to.equal('run/01a failed (BackoffLimitExceeded)  5m');
    expect(runStateLine(runs[0]!, NOW, true)).to.include('\x1b[36mrunning\x1b[0m');
  });
});

describe('renderTable decorations', () => {
  it('decorates body cells after padding, never the header, and trims like the plain table', () => {
    const out = renderTable(['A', 'B', 'C'], [['x', 'yy', ''], ['xxx', 'y', 'z']], (text, row, column) => `<${row}${column}:${text}>`);
    expect(out).to.equal('A     B    C\n<00:x  >   <01:yy>\n<10:xxx>   <11:y >   <12:z>\n');
  });
});

describe('job table', () => {
  it('NAME SCHEDULE SUSPEND ACTIVE LAST RUN LAST SCHEDULE NEXT AGE', () => {
    const jobs = [
      aJob({ name: 'backup', schedule: '0 3 * * *', active: ['01x'], lastRun: '01x', lastScheduleAgo: 120, nextIn: 42 }),
      aJob({ name: 'once', createdAgo: 30 }),
      aJob({ name: 'paused', schedule: '* * * * *', suspend: true, nextIn: 10 }),
    ];
    const lines = formatList(jobPrinter, jobs, 'table', table).trimEnd().split('\n');
    expect(columns(lines[0]!)).to.deep.equal(['NAME', 'SCHEDULE', 'SUSPEND', 'ACTIVE', 'LAST RUN', 'LAST SCHEDULE', 'NEXT', 'AGE']);
    expect(columns(lines[1]!)).to.deep.equal(['backup', '0 3 * * *', 'False', '1', '01x', '2m', 'in 42s', '60m']);
    expect(columns(lines[2]!)).to.deep.equal(['once', '<none>', 'False', '0', '<none>', '<none>', '<none>', '30s']);
    expect(columns(lines[3]!)).to.deep.equal(['paused', '* * * * *', 'True', '0', '<none>', '<none>', '<none>', '60m']);
  });

  it('wide adds TIMEZONE CONCURRENCY COMMAND; name prints job/NAME', () => {
    const lines = formatList(jobPrinter, [aJob()], 'wide', table).trimEnd().split('\n');
    expect(columns(lines[0]!).slice(-3)).to.deep.equal(['TIMEZONE', 'CONCURRENCY', 'COMMAND']);
    expect(columns(lines[1]!).slice(-3)).to.deep.equal(['<none>', 'Allow', 'sh -c backup.sh']);
    expect(formatList(jobPrinter, [aJob()], 'name', table)).to.equal('job/backup\n');
  });
});

describe('run events as NDJSON', () => {
  it('one flat object per event, every key present', () => {
    const run = aRun({ id: '01b', phase: 'running', progress: { finished: 3, total: 10 }, task: 'step 3', startedAgo: 90 });
    const line = runEventLine(anEvent(42, 'run:progress', run));
    expect(line.endsWith('\n')).to.equal(true);
    expect(line.slice(0, -1)).to.not.include('\n');
    expect(JSON.parse(line)).to.deep.equal({
      revision: 42,
      type: 'run:progress',
      id: '01b',
      job: 'backup',
      namespace: 'default',
      source: 'local',
      status: 'running',
      reason: '',
      message: '',
      warning: '',
      progress: { finished: 3, total: 10 },
      currentTask: 'step 3',
      attempts: 1,
      startedAt: '2025-01-01T11:58:30.000Z',
      finishedAt: null,
      time: NOW.toISOString(),
    });
  });

  it('progress is null without a report; a run without a phase yet is pending', () => {
    const record = runEventRecord(anEvent(1, 'run:added', Run.fromPartial({ metadata: { name: '01z', namespace: 'ns' }, spec: { job: 'j' } })));
    expect(record).to.include({ status: 'pending', progress: null, startedAt: null, time: null, attempts: 0 });
  });

  it('a relisted run prints as run:sync at the list revision', () => {
    expect(JSON.parse(runSyncLine(aRun({ id: '01q' }), 77))).to.include({ type: 'run:sync', revision: 77, id: '01q' });
  });
});

describe('describe run and job', () => {
  it('a run: trigger, status, progress bar, task, attempts with exit codes', () => {
    const run = aRun({ id: '01a', phase: 'failed', reason: 'BackoffLimitExceeded', message: 'exit 1', attempts: 2, progress: { finished: 5, total: 10 }, task: 'upload', startedAgo: 600, finishedAgo: 300 });
    const text = describeRun(run, NOW);
    expect(text).to.match(/^ID:\s+01a$/m);
    expect(text).to.match(/^Status:\s+failed$/m);
    expect(text).to.match(/^Reason:\s+BackoffLimitExceeded$/m);
    expect(text).to.match(/^Progress:\s+5\/10 ██████████░░░░░░░░░░$/m);
    expect(text).to.match(/^Current Task:\s+upload$/m);
    expect(text).to.match(/^Duration:\s+5m$/m);
    const attempts = text.slice(text.indexOf('Attempts:\n')).split('\n').slice(1, 4);
    expect(columns(attempts[0]!.trim())).to.deep.equal(['#', 'PID', 'STARTED', 'FINISHED', 'EXIT', 'REASON']);
    expect(columns(attempts[1]!.trim())).to.deep.equal(['1', '4001', '2025-01-01T11:50:00.000Z', '2025-01-01T11:55:00.000Z', '1', 'Failed']);
    expect(attempts[2]!.trim().split(/\s{3,}/)[0]).to.equal('2');
  });

  it('attempt exits: code, signal, running, unknown', () => {
    const at = { number: 1, pid: 1, processStartTime: 0, startedAt: NOW, reason: '' };
    expect(attemptExitText({ ...at, finishedAt: NOW, exitCode: 0, exitSignal: '' })).to.equal('0');
    expect(attemptExitText({ ...at, finishedAt: NOW, exitCode: -1, exitSignal: 'SIGTERM' })).to.equal('SIGTERM');
    expect(attemptExitText({ ...at, finishedAt: undefined, exitCode: -1, exitSignal: '' })).to.equal('-');
    expect(attemptExitText({ ...at, finishedAt: NOW, exitCode: -1, exitSignal: '' })).to.equal('unknown');
  });

  it('a job: schedule, policies, status, recent runs', () => {
    const text = describeJob(aJob({ schedule: '0 3 * * *', lastRun: '01x', nextIn: 60 }), [aRun({ id: '01x', phase: 'finished', startedAgo: 100, finishedAgo: 40 })], NOW);
    expect(text).to.match(/^ {2}Schedule:\s+0 3 \* \* \*$/m);
    expect(text).to.match(/^ {2}Concurrency Policy:\s+Allow$/m);
    expect(text).to.match(/^ {2}Last Run:\s+01x$/m);
    expect(text).to.match(/^ {2}Next Schedule:\s+2025-01-01T12:01:00.000Z \(in 60s\)$/m);
    expect(text).to.match(/^Recent Runs:\n {2}ID\s+JOB\s+STATUS/m);
    expect(text).to.match(/^ {2}01x\s+backup\s+finished/m);
  });
});

describe('runs command arguments', () => {
  it('--status: repeatable and comma lists, deduplicated, checked', () => {
    expect(parseStatuses(['running', 'failed,Blocked', 'running'])).to.deep.equal(['running', 'failed', 'blocked']);
    expect(() => parseStatuses(['runing'])).to.throw(UsageError, '"runing" is not a run phase; use pending, running, blocked, finished, failed, cancelled; did you mean "running"?');
    expect(runFilterFromArgs({ status: [] })).to.deep.equal({ job: '', status: [], source: '' });
  });

  it('run ids: ID or run/ID', () => {
    expect(runId('01abc')).to.equal('01abc');
    expect(runId('run/01abc')).to.equal('01abc');
    expect(() => runId('job/backup')).to.throw(UsageError, 'does not name a run');
    expect(() => runId('run/')).to.throw(UsageError);
  });

  it('--env NAME=VALUE: the value may hold "=", a later name wins', () => {
    expect(parseEnvOverrides(['A=1', 'B=x=y', 'A=2'])).to.deep.equal({ A: '2', B: 'x=y' });
    expect(() => parseEnvOverrides(['NOVALUE'])).to.throw(UsageError, '--env takes NAME=VALUE');
    expect(() => parseEnvOverrides(['1X=2'])).to.throw(UsageError);
  });
});
