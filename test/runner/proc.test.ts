/** Parsing /proc/<pid>/stat, where the command name may hold spaces and parentheses. */
import { expect } from 'chai';
import { parseProcStat, processGroupMembers, readProcStat, requireLinux } from '../../server/runner/proc.js';
import { expectRuneError } from '../support/expect-rune-error.js';

/** A stat line with the given comm and fields 3..22 (state ppid pgrp ... starttime). */
function statLine(comm: string, fields: { state: string; ppid: number; pgrp: number; startTime: number }): string {
  const rest = [fields.state, fields.ppid, fields.pgrp, 7, 0, -1, 4194560, 100, 0, 0, 0, 1, 2, 0, 0, 20, 0, 1, 0, fields.startTime, 123456, 789];
  return `4242 (${comm}) ${rest.join(' ')} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;
}

describe('proc', function () {
  const cases = [
    { name: 'a plain name', comm: 'sleep' },
    { name: 'spaces', comm: 'my worker 1' },
    { name: 'parentheses and spaces', comm: 'a) (b) Z 1 2 (c' },
    { name: 'a closing parenthesis last', comm: 'x)' },
  ];
  for (const { name, comm } of cases) {
    it(`parses a stat line whose command name has ${name}`, function () {
      const stat = parseProcStat(statLine(comm, { state: 'S', ppid: 1, pgrp: 4242, startTime: 987654 }));
      expect(stat).to.deep.equal({ state: 'S', ppid: 1, pgrp: 4242, startTime: 987654 });
    });
  }

  it('rejects text that is not a stat line', function () {
    expect(parseProcStat('')).to.equal(undefined);
    expect(parseProcStat('12 (x) S 1')).to.equal(undefined);
  });

  it('reads this process, and nothing for a PID that does not exist', function () {
    const self = readProcStat(process.pid);
    expect(self?.state).to.match(/^[RS]$/);
    expect(self?.ppid).to.equal(process.ppid);
    expect(self?.startTime).to.be.greaterThan(0);
    expect(readProcStat(0)).to.equal(undefined);
    expect(readProcStat(2 ** 22 + 1)).to.equal(undefined); // above any pid_max
  });

  it('lists the members of a process group', function () {
    const pgrp = readProcStat(process.pid)!.pgrp;
    expect(processGroupMembers(pgrp)).to.include(process.pid);
  });

  it('refuses to run on another platform, naming it', async function () {
    const err = await expectRuneError(() => requireLinux('the process runner', 'darwin'), 'UNIMPLEMENTED');
    expect(err.message).to.include('darwin');
  });
});
