import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import { ExecServiceService, type ExecRequest, type ExecResponse } from '../../shared/gen/rune/v1/exec_service.js';
import { RuneClient, type ExecCall } from '../../client/api/rune-client.js';
import { execCommandLine } from '../../client/cli/commands/exec.js';
import { exitCodeOf, runExecSession, type ExecTerminal } from '../../client/cli/exec-session.js';
import { UsageError } from '../../client/cli/global-options.js';
import { repoRoot } from '../support/runed-process.js';

describe('exec arguments', () => {
  it('the remote command is everything after --, flags included', () => {
    expect(execCommandLine({ instance: 'web-a', command: [], '--': ['ls', '-la', '--color=never'] })).to.deep.equal(['ls', '-la', '--color=never']);
    expect(execCommandLine({ instance: 'web-a', '--': ['sh', '-c', 'echo $HOME', 3] })).to.deep.equal(['sh', '-c', 'echo $HOME', '3']);
  });
  it('no command is a usage error showing the form', () => {
    expect(() => execCommandLine({ instance: 'web-a' })).to.throw(UsageError, 'name the command to run after "--", e.g. rune exec web-a -- sh');
    expect(() => execCommandLine({ instance: 'web-a', '--': [] })).to.throw(UsageError);
  });
  it('command words before -- are a usage error showing the fixed command line', () => {
    expect(() => execCommandLine({ instance: 'web-a', command: ['ls'], '--': ['-la'] })).to.throw(UsageError, 'rune exec web-a -- ls -la');
  });
});

describe('exec exit codes', () => {
  const cases: Array<[{ code: number; signal: string }, number]> = [
    [{ code: 0, signal: '' }, 0],
    [{ code: 3, signal: '' }, 3],
    [{ code: -1, signal: 'SIGKILL' }, 137],
    [{ code: -1, signal: 'SIGTERM' }, 143],
    [{ code: -1, signal: 'INT' }, 130],
    [{ code: -1, signal: 'SIGNOPE' }, 255],
    [{ code: -1, signal: '' }, 255],
  ];
  for (const [exit, code] of cases) it(`${JSON.stringify(exit)} → ${code}`, () => expect(exitCodeOf(exit)).to.equal(code));
});

/** An ExecCall whose responses are scripted and which records what the session sent. */
function fakeCall(responses: Array<Partial<ExecResponse> | RuneError>, options: { waitForEof?: boolean } = {}) {
  const sent: Array<{ stdin?: string; eof?: true; resize?: { rows: number; cols: number } }> = [];
  let eof: () => void = () => undefined;
  const eofSeen = new Promise<void>((resolve) => (eof = resolve));
  const call: ExecCall = {
    async *responses() {
      if (options.waitForEof) await eofSeen;
      for (const r of responses) {
        if (r instanceof RuneError) throw r;
        yield r as ExecResponse;
      }
    },
    writeStdin: (data) => (sent.push({ stdin: Buffer.from(data).toString() }), true),
    closeStdin: () => {
      sent.push({ eof: true });
      eof();
    },
    resize: (size) => void sent.push({ resize: size }),
    drained: async () => undefined,
    cancel: () => undefined,
  };
  return { call, sent };
}

function fakeTerminal(tty = false) {
  const stdin = Object.assign(new PassThrough(), { isTTY: tty, rawModes: [] as boolean[], setRawMode(mode: boolean) { this.rawModes.push(mode); } });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let resize: () => void = () => undefined;
  let unsubscribed = false;
  const terminal: ExecTerminal = {
    stdin,
    stdout,
    stderr,
    size: () => ({ rows: 40, cols: 120 }),
    onResize: (listener) => {
      resize = listener;
      return () => (unsubscribed = true);
    },
  };
  const text = (s: PassThrough) => (s.read() as Buffer | null)?.toString() ?? '';
  return { terminal, stdin, out: () => text(stdout), err: () => text(stderr), resize: () => resize(), unsubscribed: () => unsubscribed };
}

describe('exec session', () => {
  it('routes stdout and stderr bytes and returns the exit code; without -i closes stdin at once', async () => {
    const { call, sent } = fakeCall([{ stdout: Buffer.from('out\n') }, { stderr: Buffer.from('err\n') }, { exit: { code: 3, signal: '' } }]);
    const t = fakeTerminal();
    expect(await runExecSession(call, t.terminal, { stdin: false, tty: false })).to.equal(3);
    expect(t.out()).to.equal('out\n');
    expect(t.err()).to.equal('err\n');
    expect(sent).to.deep.equal([{ eof: true }]);
  });

  it('-i: pipes local stdin, then stdinEof at its end', async () => {
    const { call, sent } = fakeCall([{ stdout: Buffer.from('HELLO') }, { exit: { code: 0, signal: '' } }], { waitForEof: true });
    const t = fakeTerminal();
    const done = runExecSession(call, t.terminal, { stdin: true, tty: false });
    t.stdin.write('hel');
    t.stdin.end('lo');
    expect(await done).to.equal(0);
    expect(sent).to.deep.equal([{ stdin: 'hel' }, { stdin: 'lo' }, { eof: true }]);
    expect(t.stdin.rawModes).to.deep.equal([]);
  });

  it('-it on a terminal: raw mode while running, restored after; resizes sent on', async () => {
    const { call, sent } = fakeCall([{ exit: { code: 0, signal: '' } }], { waitForEof: true });
    const t = fakeTerminal(true);
    const done = runExecSession(call, t.terminal, { stdin: true, tty: true });
    expect(t.stdin.rawModes).to.deep.equal([true]);
    t.resize();
    t.stdin.end();
    await done;
    expect(t.stdin.rawModes).to.deep.equal([true, false]);
    expect(sent).to.deep.include({ resize: { rows: 40, cols: 120 } });
    expect(t.unsubscribed()).to.equal(true);
  });

  it('restores the terminal when the call fails', async () => {
    const { call } = fakeCall([new RuneError('NOT_FOUND', 'instance "web-x" not found')]);
    const t = fakeTerminal(true);
    const err = await runExecSession(call, t.terminal, { stdin: true, tty: true }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'NOT_FOUND');
    expect(t.stdin.rawModes).to.deep.equal([true, false]);
  });

  it('-t without -i: no raw mode (Ctrl-C stays local)', async () => {
    const { call } = fakeCall([{ exit: { code: 0, signal: '' } }]);
    const t = fakeTerminal(true);
    await runExecSession(call, t.terminal, { stdin: false, tty: true });
    expect(t.stdin.rawModes).to.deep.equal([]);
  });

  it('undefined when the stream ends without an exit status', async () => {
    const { call } = fakeCall([{ stdout: Buffer.from('x') }]);
    expect(await runExecSession(call, fakeTerminal().terminal, { stdin: false, tty: false })).to.equal(undefined);
  });
});

/**
 * A fake ExecService on an ephemeral port: echoes stdin upper-cased on stdout after stdinEof,
 * exits with the code named by the command (`exit N`) or a signal (`kill SIG`).
 */
async function startFakeExecServer(): Promise<{ address: string; starts: ExecRequest['start'][]; authorization: string[]; stop(): void }> {
  const server = new grpc.Server();
  const starts: ExecRequest['start'][] = [];
  const authorization: string[] = [];
  server.addService(ExecServiceService, {
    exec(call: grpc.ServerDuplexStream<ExecRequest, ExecResponse>) {
      authorization.push(String(call.metadata.get('authorization')[0] ?? ''));
      let input = '';
      let command: string[] = [];
      call.on('data', (request: ExecRequest) => {
        if (request.start) {
          starts.push(request.start);
          command = request.start.command;
          if (request.start.instance === 'missing') {
            call.emit('error', { code: grpc.status.NOT_FOUND, details: 'instance "missing" not found' });
            return;
          }
        }
        if (request.stdin) input += request.stdin.toString();
        if (request.stdinEof) {
          if (input) call.write({ stdout: Buffer.from(input.toUpperCase()) });
          call.write({ stderr: Buffer.from(`ran ${command.join(' ')}\n`) });
          const [verb, arg] = command;
          call.write({ exit: verb === 'kill' ? { code: -1, signal: arg! } : { code: verb === 'exit' ? Number(arg) : 0, signal: '' } });
          call.end();
        }
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { address: `127.0.0.1:${port}`, starts, authorization, stop: () => server.forceShutdown() };
}

describe('RuneClient.exec and rune exec against a fake ExecService', function () {
  this.timeout(30_000);
  let fake: Awaited<ReturnType<typeof startFakeExecServer>>;
  before(async () => (fake = await startFakeExecServer()));
  after(() => fake.stop());

  it('sends start with the bearer token, stdin and stdinEof; reads output and the exit', async () => {
    const client = new RuneClient({ server: fake.address, token: 'tok' });
    try {
      const call = client.exec({ namespace: 'default', instance: 'web-a', command: ['exit', '4'] });
      call.writeStdin(Buffer.from('abc'));
      call.closeStdin();
      const got: string[] = [];
      for await (const r of call.responses()) got.push(r.stdout ? `out:${r.stdout}` : r.stderr ? `err:${r.stderr}` : `exit:${r.exit?.code}`);
      expect(got).to.deep.equal(['out:ABC', 'err:ran exit 4\n', 'exit:4']);
      expect(fake.starts.at(-1)).to.deep.include({ namespace: 'default', instance: 'web-a', command: ['exit', '4'], tty: false });
      expect(fake.authorization.at(-1)).to.equal('Bearer tok');
    } finally {
      client.close();
    }
  });

  it('a failed call surfaces as a RuneError from responses()', async () => {
    const client = new RuneClient({ server: fake.address, token: 'tok' });
    try {
      const call = client.exec({ namespace: 'default', instance: 'missing', command: ['sh'] });
      const err = await (async () => {
        for await (const _ of call.responses());
      })().then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(RuneError).with.property('code', 'NOT_FOUND');
    } finally {
      client.close();
    }
  });

  function rune(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'client', 'cli', 'main.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, RUNE_SERVER: fake.address, RUNE_TOKEN: 'tok', NO_COLOR: '1', RUNE_CONFIG: join(repoRoot, 'no-such-config.yaml') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('rune exec -i pipes stdin, prints output and exits with the command\'s code', async () => {
    const r = await rune(['exec', '-i', 'web-a', '--', 'exit', '7'], 'hello');
    expect(r.stdout).to.equal('HELLO');
    expect(r.stderr).to.equal('ran exit 7\n');
    expect(r.code).to.equal(7);
    expect(fake.starts.at(-1)!.command).to.deep.equal(['exit', '7']);
  });

  it('rune exec without -i sends no input; a signal exit is 128 + N', async () => {
    const r = await rune(['exec', 'web-a', '--', 'kill', 'SIGKILL'], 'ignored');
    expect(r.stdout).to.equal('');
    expect(r.code).to.equal(137);
  });

  it('rune exec on a missing instance: error and exit 1', async () => {
    const r = await rune(['exec', 'missing', '--', 'sh'], '');
    expect(r.stderr).to.match(/^error: instance "missing" not found/);
    expect(r.code).to.equal(1);
  });
});
