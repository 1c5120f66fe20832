import { expect } from 'chai';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { EventType } from '../../shared/gen/rune/v1/watch_service.js';
import { describeInstance } from '../../client/cli/output/describe.js';
import { formatList, formatOne, instancePrinter, instanceStatusText, lastExitText, WatchPrinter } from '../../client/cli/output/printers.js';
import { resourceKind } from '../../client/cli/resources.js';
import { UsageError } from '../../client/cli/global-options.js';

const now = new Date('2025-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const table = { wide: false, allNamespaces: false, now };

interface InstancePatch {
  namespace?: string;
  service?: string;
  phase?: string;
  reason?: string;
  ready?: boolean;
  restarts?: number;
  pid?: number;
  exitCode?: number;
  exitSignal?: string;
  finishedAt?: Date;
  generation?: number;
}

function anInstance(name: string, p: InstancePatch = {}): Instance {
  return Instance.fromPartial({
    metadata: { name, namespace: p.namespace ?? 'default', createdAt: ago(90), uid: 'u-9', resourceVersion: 12, generation: 1, labels: { app: 'web' } },
    spec: { service: p.service ?? 'web', serviceGeneration: p.generation ?? 3, templateHash: 'abc123', node: 'local' },
    status: {
      phase: p.phase ?? 'running',
      reason: p.reason ?? '',
      ready: p.ready ?? true,
      restartCount: p.restarts ?? 0,
      pid: p.pid ?? 4242,
      lastExitCode: p.exitCode ?? 0,
      lastExitSignal: p.exitSignal ?? '',
      finishedAt: p.finishedAt,
    },
  });
}

describe('instance output', () => {
  it('table: ID SERVICE STATUS READY RESTARTS PID AGE, the reason in parentheses', () => {
    const instances = [anInstance('web-a1b2c'), anInstance('web-x9y8z', { phase: 'exited', reason: 'CrashLoopBackOff', ready: false, restarts: 4, pid: 0, exitCode: 1, finishedAt: ago(5) })];
    expect(formatList(instancePrinter, instances, 'table', table)).to.equal(
      [
        'ID          SERVICE   STATUS                      READY   RESTARTS   PID      AGE',
        'web-a1b2c   web       running                     yes     0          4242     90s',
        'web-x9y8z   web       exited (CrashLoopBackOff)   no      4          <none>   90s',
      ].join('\n') + '\n',
    );
  });

  it('-A adds NAMESPACE first; wide adds NODE, LAST EXIT, GENERATION', () => {
    const out = formatList(instancePrinter, [anInstance('web-a', { namespace: 'prod', exitSignal: 'SIGKILL', exitCode: -1, restarts: 1 })], 'wide', { ...table, allNamespaces: true });
    const [header, row] = out.split('\n');
    expect(header!.split(/\s{3,}/)).to.deep.equal(['NAMESPACE', 'ID', 'SERVICE', 'STATUS', 'READY', 'RESTARTS', 'PID', 'AGE', 'NODE', 'LAST EXIT', 'GENERATION']);
    expect(row!.split(/\s{3,}/)).to.deep.equal(['prod', 'web-a', 'web', 'running', 'yes', '1', '4242', '90s', 'local', 'SIGKILL', '3']);
  });

  const statuses: Array<[string, InstancePatch, string]> = [
    ['phase alone', { phase: 'running' }, 'running'],
    ['phase and reason', { phase: 'failed', reason: 'StartFailed' }, 'failed (StartFailed)'],
    ['crash loop', { phase: 'exited', reason: 'CrashLoopBackOff' }, 'exited (CrashLoopBackOff)'],
  ];
  for (const [what, patch, text] of statuses) it(`STATUS: ${what} → ${text}`, () => expect(instanceStatusText(anInstance('x', patch).status)).to.equal(text));
  it('STATUS: <none> before the first status', () => expect(instanceStatusText(undefined)).to.equal('<none>'));

  const exits: Array<[string, InstancePatch, string]> = [
    ['never exited', {}, '<none>'],
    ['exited 0', { finishedAt: ago(1) }, '0'],
    ['exit code', { exitCode: 137, restarts: 2 }, '137'],
    ['signal', { exitCode: -1, exitSignal: 'SIGTERM' }, 'SIGTERM'],
    ['unknown (adopted)', { exitCode: -1 }, 'unknown'],
  ];
  for (const [what, patch, text] of exits) it(`LAST EXIT: ${what} → ${text}`, () => expect(lastExitText(anInstance('x', patch).status)).to.equal(text));

  it('json: proto3 JSON, bare for one, items for a list; name: instance/ID', () => {
    const one = anInstance('web-a');
    expect(JSON.parse(formatOne(instancePrinter, one, 'json', table))).to.deep.equal(Instance.toJSON(one));
    expect(JSON.parse(formatList(instancePrinter, [one], 'json', table)).items[0].spec.serviceGeneration).to.equal(3);
    expect(formatList(instancePrinter, [one], 'name', table)).to.equal('instance/web-a\n');
  });

  it('watch: a row per change, deletions read deleted; json events carry the instance', () => {
    const printer = new WatchPrinter(instancePrinter, 'table', { wide: false, allNamespaces: false }, 'instances', () => now);
    expect(printer.start([anInstance('web-a')], 5)).to.match(/^ID +SERVICE .*\nweb-a +web +running +yes/);
    expect(printer.event({ type: EventType.EVENT_TYPE_DELETED, revision: 6, kind: 'instances', instance: anInstance('web-a'), watchIds: [] })).to.match(/^web-a +web +deleted +yes/);
    const json = new WatchPrinter(instancePrinter, 'json', { wide: false, allNamespaces: false }, 'instances', () => now);
    const first = JSON.parse(json.start([anInstance('web-a')], 5));
    expect(first).to.include({ type: 'EVENT_TYPE_ADDED', revision: 5, kind: 'instances' });
    expect(first.instance.metadata.name).to.equal('web-a');
  });

  it('resource words: instances, instance, inst (for commands that take them)', () => {
    for (const word of ['instances', 'instance', 'inst']) expect(resourceKind(word, ['services', 'instances'])).to.equal('instances');
    expect(() => resourceKind('inst')).to.throw(UsageError, 'use services (service, svc) or namespaces (namespace, ns)');
  });
});

describe('describe instance', () => {
  it('shows metadata, spec and every status field, probes as blocks', () => {
    const instance = Instance.fromPartial({
      ...anInstance('web-a1b2c', { phase: 'running', reason: 'Adopted', restarts: 2, exitCode: 1, finishedAt: ago(600) }),
      status: {
        ...anInstance('web-a1b2c', { restarts: 2, exitCode: 1, finishedAt: ago(600) }).status!,
        reason: 'Adopted',
        message: 'adopted after a runed restart',
        processStartTime: 987654,
        startedAt: ago(300),
        nextRestartAt: new Date(now.getTime() + 5000),
        liveness: { healthy: true, consecutiveSuccesses: 12, consecutiveFailures: 0, lastResult: 'ok', lastProbeAt: ago(3) },
        memoryLimit: 'rlimit-as',
        logPath: '/var/lib/rune/logs/web-a1b2c.log',
      },
    });
    const text = describeInstance(instance, now);
    for (const line of [
      /^Name: +web-a1b2c$/m,
      /^Namespace: +default$/m,
      /^Labels: +app=web$/m,
      /^Spec:$/m,
      /^ {2}Service: +web$/m,
      /^ {2}Service Generation: +3$/m,
      /^ {2}Template Hash: +abc123$/m,
      /^ {2}Node: +local$/m,
      /^ {2}Phase: +running$/m,
      /^ {2}Reason: +Adopted$/m,
      /^ {2}Message: +adopted after a runed restart$/m,
      /^ {2}Ready: +yes$/m,
      /^ {2}PID: +4242$/m,
      /^ {2}Process Start Time: +987654 \(clock ticks since boot\)$/m,
      /^ {2}Restarts: +2$/m,
      /^ {2}Last Exit Code: +1$/m,
      /^ {2}Last Exit Signal: +<none>$/m,
      /^ {2}Started: +2025-01-01T11:55:00.000Z \(5m ago\)$/m,
      /^ {2}Finished: +2025-01-01T11:50:00.000Z \(10m ago\)$/m,
      /^ {2}Next Restart: +2025-01-01T12:00:05.000Z \(in 5s\)$/m,
      /^ {2}Liveness:$/m,
      /^ {4}Healthy: +yes$/m,
      /^ {4}Consecutive Successes: +12$/m,
      /^ {4}Last Result: +ok$/m,
      /^ {4}Last Probe: +2025-01-01T11:59:57.000Z \(3s ago\)$/m,
      /^ {2}Readiness: +<none>$/m,
      /^ {2}Memory Limit: +rlimit-as$/m,
      /^ {2}Log Path: +\/var\/lib\/rune\/logs\/web-a1b2c.log$/m,
    ]) {
      expect(text).to.match(line);
    }
  });

  it('a signal-killed run shows the signal, not the -1 code', () => {
    const text = describeInstance(anInstance('w', { exitCode: -1, exitSignal: 'SIGKILL', finishedAt: ago(1) }), now);
    expect(text).to.match(/^ {2}Last Exit Code: +<none>$/m);
    expect(text).to.match(/^ {2}Last Exit Signal: +SIGKILL$/m);
  });
});
