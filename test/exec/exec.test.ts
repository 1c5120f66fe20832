import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { ExecRequest, ExecServiceClient, ExecServiceService, type ExecExit, type ExecResponse, type ExecStart } from '../../shared/gen/rune/v1/exec_service.js';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { execHandlers } from '../../server/api/handlers/exec-handler.js';
import { openMemoryStore, type LevelStore } from '../../server/store/level-store.js';
import { serveForTest, type TestServer } from '../logs/grpc-server.js';

function aService(fields: { name: string; env?: Record<string, string>; workingDir?: string; ports?: { name: string; port: number }[] }): Service {
  return Service.fromPartial({
    metadata: { name: fields.name, namespace: 'dev' },
    spec: {
      runtime: 'process',
      command: '/bin/sleep',
      args: ['60'],
      env: { ...fields.env },
      workingDir: fields.workingDir ?? '',
      ports: (fields.ports ?? []).map((p) => ({ ...p, protocol: 'tcp' })),
      scale: 1,
    },
  });
}

function anInstance(fields: { name: string; service: string; phase?: string }): Instance {
  return Instance.fromPartial({
    metadata: { name: fields.name, namespace: 'dev' },
    spec: { service: fields.service, node: 'local' },
    status: { phase: fields.phase ?? 'running' },
  });
}

interface Outcome {
  stdout: string;
  stderr: string;
  exit: ExecExit | undefined;
  /** Messages after the exit message (there must be none). */
  afterExit: number;
}

/** True while `pid` runs; a zombie (killed, maybe never reaped by this machine's init) is not running. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('ExecService.Exec (real gRPC, real processes)', function () {
  let dataDir: string;
  let workDir: string;
  let store: LevelStore;
  let server: TestServer;
  let client: ExecServiceClient;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rune-exec-'));
    workDir = join(dataDir, 'app');
    await mkdir(workDir);
    await mkdir(join(dataDir, 'work', 'dev', 'api-1'), { recursive: true });
    store = await openMemoryStore({ compactEveryMs: 0 });
    await store.create('services', aService({ name: 'web', env: { FOO: 'bar' }, workingDir: workDir, ports: [{ name: 'http', port: 8080 }] }));
    await store.create('services', aService({ name: 'api' }));
    await store.create('instances', anInstance({ name: 'web-1', service: 'web' }));
    await store.create('instances', anInstance({ name: 'web-2', service: 'web', phase: 'pending' }));
    await store.create('instances', anInstance({ name: 'web-3', service: 'web', phase: 'ready' }));
    await store.create('instances', anInstance({ name: 'api-1', service: 'api' }));
    server = await serveForTest(ExecServiceService, execHandlers(store, { dataDir, startTimeoutMs: 1000 }));
    client = new ExecServiceClient(server.addr, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await server.stop();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Opens an exec stream, sends `start` then `input` in order, and collects everything until the end. */
  function exec(start: Partial<ExecStart>, input: Partial<ExecRequest>[] = [], options: { onStdout?: (text: string, call: grpc.ClientDuplexStream<ExecRequest, ExecResponse>) => void } = {}): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const call = client.exec({ deadline: Date.now() + 15_000 });
      const outcome: Outcome = { stdout: '', stderr: '', exit: undefined, afterExit: 0 };
      call.on('data', (m: ExecResponse) => {
        if (outcome.exit) outcome.afterExit++;
        if (m.stdout) {
          outcome.stdout += m.stdout.toString();
          options.onStdout?.(outcome.stdout, call);
        }
        if (m.stderr) outcome.stderr += m.stderr.toString();
        if (m.exit) outcome.exit = m.exit;
      });
      call.on('error', reject);
      call.on('end', () => resolve(outcome));
      call.write(ExecRequest.fromPartial({ start: { namespace: 'dev', instance: 'web-1', ...start } }));
      for (const message of input) call.write(ExecRequest.fromPartial(message));
    });
  }

  async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
    try {
      await promise;
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error('the exec succeeded');
  }

  it("runs the command with the service's env and returns its output and exit code", async () => {
    const outcome = await exec({ command: ['sh', '-c', 'echo $FOO; exit 7'] });
    expect(outcome).to.deep.include({ stdout: 'bar\n', stderr: '', afterExit: 0 });
    expect(outcome.exit).to.deep.include({ code: 7, signal: '' });
  });

  it("runs in the instance's environment: RUNE_* variables, ports, working dir", async () => {
    const outcome = await exec({ command: ['sh', '-c', 'echo $RUNE_NAMESPACE $RUNE_SERVICE $RUNE_INSTANCE $RUNE_PORT_HTTP $RUNE_PORT; pwd'] });
    expect(outcome.stdout).to.equal(`dev web web-1 8080 8080\n${workDir}\n`);
    const defaultDir = await exec({ instance: 'api-1', command: ['pwd'] });
    expect(defaultDir.stdout).to.equal(`${join(dataDir, 'work', 'dev', 'api-1')}\n`);
    expect((await exec({ instance: 'web-3', command: ['true'] })).exit?.code, 'a ready instance').to.equal(0);
  });

  it('feeds stdin to the command and closes it on stdin_eof', async () => {
    const outcome = await exec({ command: ['cat'] }, [{ stdin: Buffer.from('hello\n') }, { stdin: Buffer.from('world\n') }, { stdinEof: true }]);
    expect(outcome.stdout).to.equal('hello\nworld\n');
    expect(outcome.exit?.code).to.equal(0);
  });

  it('keeps stderr apart from stdout, and the command is not on a terminal', async () => {
    const outcome = await exec({ command: ['sh', '-c', 'echo out; echo err >&2; test -t 0 || echo "no tty" >&2'] });
    expect(outcome.stdout).to.equal('out\n');
    expect(outcome.stderr).to.equal('err\nno tty\n');
  });

  it('streams large output whole', async () => {
    const outcome = await exec({ command: ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x'] });
    expect(outcome.stdout.length).to.equal(3_000_000);
    expect(outcome.exit?.code).to.equal(0);
  });

  it('reports a command killed by a signal with code -1 and the signal name', async () => {
    const outcome = await exec({ command: ['sh', '-c', 'kill -TERM $$'] });
    expect(outcome.exit).to.deep.include({ code: -1, signal: 'SIGTERM' });
  });

  describe('with a tty', () => {
    it('gives the command a terminal of the requested size', async () => {
      const outcome = await exec({ tty: true, size: { rows: 30, cols: 100 }, command: ['sh', '-c', 'test -t 0 && test -t 1 && echo is-a-tty; stty size; tty'] });
      expect(outcome.stdout).to.include('is-a-tty\r\n');
      expect(outcome.stdout).to.include('30 100\r\n');
      expect(outcome.stdout).to.match(/\/dev\/pts\/\d+/);
      expect(outcome.stderr).to.equal('');
      expect(outcome.exit?.code).to.equal(0);
    });

    it('resizes the terminal live and takes input', async () => {
      let sent = false;
      const outcome = await exec({ tty: true, size: { rows: 24, cols: 80 }, command: ['sh', '-c', 'stty size; read line; echo "got $line"; stty size'] }, [], {
        onStdout: (text, call) => {
          if (text.includes('24 80') && !sent) {
            sent = true;
            call.write(ExecRequest.fromPartial({ resize: { rows: 40, cols: 120 } }));
            call.write(ExecRequest.fromPartial({ stdin: Buffer.from('abc\n') }));
          }
        },
      });
      expect(outcome.stdout).to.match(/24 80\r\n[\s\S]*got abc\r\n40 120\r\n/);
      expect(outcome.exit?.code).to.equal(0);
    });

    it('ends input with ^D on stdin_eof', async () => {
      const outcome = await exec({ tty: true, command: ['sh', '-c', 'cat >/dev/null; echo done'] }, [{ stdin: Buffer.from('x\n') }, { stdinEof: true }]);
      expect(outcome.stdout).to.include('done');
      expect(outcome.exit?.code).to.equal(0);
    });
  });

  it('kills the command and its process group when the client goes away', async () => {
    const pidFile = join(dataDir, 'sleeper.pid');
    const call = client.exec();
    call.on('error', () => {});
    const started = new Promise<void>((resolve) => call.on('data', (m: ExecResponse) => m.stdout?.toString().includes('started') && resolve()));
    call.write(ExecRequest.fromPartial({ start: { namespace: 'dev', instance: 'web-1', command: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; echo started; wait`] } }));
    await started;
    const sleeper = Number((await readFile(pidFile, 'utf8')).trim());
    expect(alive(sleeper), 'the background sleep runs').to.equal(true);
    call.cancel();
    for (let i = 0; i < 100 && alive(sleeper); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(sleeper), 'the background sleep after the client left').to.equal(false);
  });

  describe('refusals', () => {
    it('NOT_FOUND for an unknown instance, with a hint', async () => {
      const err = await failure(exec({ instance: 'web-9', command: ['true'] }));
      expect(err.code).to.equal(grpc.status.NOT_FOUND);
      expect(err.details).to.include('instance "web-9" not found in namespace "dev"');
      expect(err.details).to.include('rune get instances -n dev');
    });

    it('FAILED_PRECONDITION naming the phase when the instance is not running', async () => {
      const err = await failure(exec({ instance: 'web-2', command: ['true'] }));
      expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
      expect(err.details).to.include('instance "web-2" is pending');
    });

    it('FAILED_PRECONDITION when the program does not exist', async () => {
      const err = await failure(exec({ command: ['no-such-program-rune'] }));
      expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
      expect(err.details).to.include('program "no-such-program-rune" not found');
    });

    it('INVALID_ARGUMENT when the first message is not start, or the command is empty', async () => {
      const notStart = await failure(
        new Promise((resolve, reject) => {
          const call = client.exec({ deadline: Date.now() + 5000 });
          call.on('data', () => {});
          call.on('error', reject);
          call.on('end', resolve);
          call.write(ExecRequest.fromPartial({ stdin: Buffer.from('x') }));
        }),
      );
      expect(notStart.code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(notStart.details).to.include('first message must be `start`');
      const empty = await failure(exec({ command: [] }));
      expect(empty.code).to.equal(grpc.status.INVALID_ARGUMENT);
    });
  });
});
