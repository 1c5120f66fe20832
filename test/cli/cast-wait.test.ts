/**
 * `rune cast --wait` as a real child process against a fake runed (an in-process gRPC server
 * playing scripted instance events): the wiring of cast, the instance watch, the progress
 * lines, the exit codes and the failure report. The real orchestrator's end-to-end tests live
 * with the server.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { InstanceServiceService } from '../../shared/gen/rune/v1/instance_service.js';
import { LogServiceService } from '../../shared/gen/rune/v1/log_service.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { ServiceServiceService, type CastServiceRequest } from '../../shared/gen/rune/v1/service_service.js';
import { EventType, type WatchResponse } from '../../shared/gen/rune/v1/watch_service.js';
import { repoRoot } from '../support/runed-process.js';

const inst = (name: string, phase: string, ready: boolean, reason = '', message = '') =>
  Instance.fromPartial({ metadata: { name, namespace: 'default' }, spec: { service: 'web', serviceGeneration: 2, templateHash: 't2' }, status: { phase, ready, reason, message } });

interface Script {
  /** Instance events played after the list, one every 50 ms. */
  events: Instance[];
}

async function startFakeRuned(script: () => Script) {
  const server = new grpc.Server();
  let current: Script = { events: [] };
  const unimplemented = (_call: unknown, callback?: (err: Partial<grpc.ServiceError>) => void) => callback?.({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' });
  const hangUntilCancelled = (call: grpc.ServerWritableStream<unknown, unknown>) => new Promise<void>((resolve) => call.on('cancelled', () => resolve()));
  server.addService(ServiceServiceService, {
    castService(call: grpc.ServerUnaryCall<CastServiceRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      current = script();
      const sent = call.request.service!;
      callback(null, { result: 'updated', service: Service.fromPartial({ ...sent, metadata: { ...sent.metadata, namespace: 'default', generation: 2 } }) });
    },
    listServices: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { services: [], listMeta: { revision: 5, continueToken: '' } }),
    watchServices: hangUntilCancelled,
    getService: unimplemented,
    deleteService: unimplemented,
    scaleService: unimplemented,
    restartService: unimplemented,
  });
  server.addService(InstanceServiceService, {
    listInstances: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { instances: [], listMeta: { revision: 5, continueToken: '' } }),
    async watchInstances(call: grpc.ServerWritableStream<unknown, WatchResponse>) {
      let revision = 5;
      for (const instance of current.events) {
        await new Promise((r) => setTimeout(r, 50));
        revision++;
        call.write({ events: [{ type: EventType.EVENT_TYPE_MODIFIED, revision, kind: 'instances', instance, watchIds: [] }], created: [], canceled: [], revision });
      }
      await hangUntilCancelled(call);
    },
    getInstance: unimplemented,
  });
  server.addService(LogServiceService, {
    streamLogs(call: grpc.ServerWritableStream<{ target: string; tail: number }, unknown>) {
      call.write({ lines: [{ instance: call.request.target, text: `tail=${call.request.tail}`, time: new Date() }, { instance: call.request.target, text: 'Error: boom', time: new Date() }] });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

describe('rune cast --wait against a fake runed', function () {
  this.timeout(30_000);
  let script: Script = { events: [] };
  let fake: Awaited<ReturnType<typeof startFakeRuned>>;
  let work: string;
  let file: string;
  before(async () => {
    fake = await startFakeRuned(() => script);
    work = await mkdtemp(join(tmpdir(), 'rune-cast-wait-'));
    file = join(work, 'web.yml');
    await writeFile(file, 'service:\n  name: web\n  command: node\n  scale: 2\n');
  });
  after(async () => {
    fake.stop();
    await rm(work, { recursive: true, force: true });
  });

  function rune(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'client', 'cli', 'main.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, RUNE_SERVER: fake.address, RUNE_TOKEN: 'tok', NO_COLOR: '1', RUNE_CONFIG: join(work, 'no-config.yaml') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('waits until every instance of the new generation is ready, printing a line per change; exit 0', async () => {
    script = { events: [inst('web-a', 'starting', false), inst('web-a', 'running', true), inst('web-b', 'starting', false), inst('web-b', 'running', true)] };
    const r = await rune(['cast', file, '--wait']);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(['service/web updated', 'web  0/2 ready', 'web  0/2 ready  (1 starting)', 'web  1/2 ready', 'web  1/2 ready  (1 starting)', 'web  2/2 ready', ''].join('\n'));
    expect(r.code).to.equal(0);
  });

  it('a crash-looping instance: exit 1 with its id, reason, message and last log lines', async () => {
    script = { events: [inst('web-a', 'starting', false), inst('web-a', 'exited', false, 'CrashLoopBackOff', 'exit code 1')] };
    const r = await rune(['cast', file, '--wait']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(
      [
        'error: service/web did not roll out: instance web-a is exited (CrashLoopBackOff): exit code 1',
        '  instance:  web-a',
        '  status:    exited (CrashLoopBackOff)',
        '  reason:    CrashLoopBackOff',
        '  message:   exit code 1',
        '  last 2 log lines:',
        '    tail=10',
        '    Error: boom',
        '',
      ].join('\n'),
    );
  });

  it('times out after --timeout-wait: exit 1', async () => {
    script = { events: [inst('web-a', 'starting', false)] };
    const r = await rune(['cast', file, '--wait', '--timeout-wait', '1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: timed out after 1s waiting for service\/web 0\/2 ready \(1 starting\)\n {2}instance: {2}web-a\n/);
  });

  it('-o json keeps stdout JSON: progress goes to stderr', async () => {
    script = { events: [inst('web-a', 'running', true), inst('web-b', 'running', true)] };
    const r = await rune(['cast', file, '--wait', '-o', 'json']);
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout).items[0].metadata.name).to.equal('web');
    expect(r.stderr).to.include('web  2/2 ready\n');
  });

  it('not on a terminal, without --wait: returns after the cast', async () => {
    script = { events: [] };
    const r = await rune(['cast', file]);
    expect(r.stdout).to.equal('service/web updated\n');
    expect(r.code).to.equal(0);
  });
});
