/**
 * Exec and logs through the REST gateway against a real runed running real processes: a
 * `sleep 300` service cast over REST, then exec over a WebSocket (output, stdin, exit code)
 * and over a plain POST with an NDJSON body, and its logs as NDJSON.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';
import { Rest, eventually } from './rest-client.js';

interface ExecOutcome {
  stdout: string;
  stderr: string;
  exit: { code: number; signal: string } | undefined;
  error: any;
  closeCode: number;
}

/** Runs one exec session over a WebSocket: sends `messages` once open, collects until close. */
function execOverWebSocket(addr: string, token: string, messages: unknown[]): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${addr}/v1/exec`, { headers: { authorization: `Bearer ${token}` } });
    const outcome: ExecOutcome = { stdout: '', stderr: '', exit: undefined, error: undefined, closeCode: 0 };
    ws.on('open', () => {
      for (const m of messages) ws.send(JSON.stringify(m));
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.error) outcome.error = m.error;
      const r = m.result ?? {};
      if (r.stdout) outcome.stdout += Buffer.from(r.stdout, 'base64').toString();
      if (r.stderr) outcome.stderr += Buffer.from(r.stderr, 'base64').toString();
      if (r.exit) outcome.exit = r.exit;
    });
    ws.on('close', (code) => resolve({ ...outcome, closeCode: code }));
    ws.on('error', reject);
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('REST gateway: exec and logs (real runed, real processes)', function () {
  this.timeout(60_000);
  let t: TestRuned;
  let rest: Rest;
  let instance: string;

  before(async () => {
    t = await startTestRuned({ orchestrator: { pollMs: 100 } });
    rest = new Rest(t.baseUrl, t.token);
    const cast = await rest.put('/v1/namespaces/default/services/sleeper', {
      spec: { command: 'sh', args: ['-c', 'echo started; exec sleep 300'], scale: 1 },
    });
    expect(cast.status, cast.text).to.equal(200);
    instance = await eventually(
      async () => {
        const list = await rest.get('/v1/namespaces/default/instances');
        const ready = list.body.instances?.find((i: any) => i.spec.service === 'sleeper' && ['running', 'ready'].includes(i.status.phase));
        return ready?.metadata.name as string | undefined;
      },
      30_000,
      'a running instance of sleeper',
    );
  });
  after(async () => {
    await rest?.delete('/v1/namespaces/default/services/sleeper');
    await t?.stop();
  });

  it('runs a command over a WebSocket and returns its output and exit code', async () => {
    const outcome = await execOverWebSocket(t.runed.httpAddr, t.token, [
      { start: { namespace: 'default', instance, command: ['sh', '-c', 'echo "out $RUNE_SERVICE"; echo err >&2; exit 3'] } },
    ]);
    expect(outcome.error).to.equal(undefined);
    expect(outcome.stdout).to.equal('out sleeper\n');
    expect(outcome.stderr).to.equal('err\n');
    expect(outcome.exit).to.deep.include({ code: 3 });
    expect(outcome.closeCode).to.equal(1000);
  });

  it('feeds stdin from WebSocket messages (base64 bytes, then stdinEof)', async () => {
    const outcome = await execOverWebSocket(t.runed.httpAddr, t.token, [
      { start: { namespace: 'default', instance, command: ['cat'] } },
      { stdin: b64('hello over ws\n') },
      { stdinEof: true },
    ]);
    expect(outcome.stdout).to.equal('hello over ws\n');
    expect(outcome.exit).to.deep.include({ code: 0 });
  });

  it('answers an exec for an instance that does not exist with an error message and close code 4404', async () => {
    const outcome = await execOverWebSocket(t.runed.httpAddr, t.token, [{ start: { namespace: 'default', instance: 'ghost-00000', command: ['true'] } }]);
    expect(outcome.error).to.include({ status: 'NOT_FOUND' });
    expect(outcome.closeCode).to.equal(4404);
  });

  it('runs exec as a plain POST with an NDJSON body of requests, answering NDJSON', async () => {
    const body = [JSON.stringify({ start: { namespace: 'default', instance, command: ['sh', '-c', 'cat; exit 5'] } }), JSON.stringify({ stdin: b64('piped\n') }), JSON.stringify({ stdinEof: true })].join('\n');
    const res = await rest.call('POST', '/v1/exec', { raw: body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status, res.text).to.equal(200);
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l));
    const stdout = lines.filter((l) => l.result?.stdout).map((l) => Buffer.from(l.result.stdout, 'base64').toString()).join('');
    expect(stdout).to.equal('piped\n');
    expect(lines.at(-1).result.exit.code).to.equal(5);
  });

  it('streams logs as NDJSON', async () => {
    const stream = await rest.stream('/v1/namespaces/default/logs/sleeper?tail=10');
    try {
      expect(stream.status).to.equal(200);
      const message = await stream.until((m) => m.result?.lines?.some((l: any) => l.text === 'started'));
      const line = message.result.lines.find((l: any) => l.text === 'started');
      expect(line.instance).to.equal(instance);
      expect(line.time).to.match(/^\d{4}-\d\d-\d\dT/);
    } finally {
      stream.close();
    }
  });
});
