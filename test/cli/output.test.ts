import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { EventType } from '../../shared/gen/rune/v1/watch_service.js';
import { describeService } from '../../client/cli/output/describe.js';
import { humanDuration } from '../../client/cli/output/human-duration.js';
import { formatList, formatOne, namespacePrinter, servicePrinter, WatchPrinter } from '../../client/cli/output/printers.js';
import { renderTable, StreamingTable } from '../../client/cli/output/table.js';

const now = new Date('2025-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

function aService(name: string, patch: { namespace?: string; scale?: number; ready?: number; phase?: string; created?: Date } = {}): Service {
  return Service.fromPartial({
    metadata: { name, namespace: patch.namespace ?? 'default', createdAt: patch.created ?? ago(90), resourceVersion: 7, generation: 2, uid: 'u-1', labels: { app: name } },
    spec: { runtime: 'process', command: 'node', args: ['server.js'], scale: patch.scale ?? 2, ports: [{ name: 'http', port: 8080, protocol: 'tcp' }], restartPolicy: 'Always', stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 },
    status: { readyInstances: patch.ready ?? 1, phase: patch.phase ?? 'Running', desiredInstances: patch.scale ?? 2, runningInstances: 2, observedGeneration: 2 },
  });
}

const table = { wide: false, allNamespaces: false, now };

describe('tables', () => {
  it('pads columns with three spaces and leaves the last unpadded', () => {
    expect(renderTable(['NAME', 'AGE'], [['web', '5s'], ['database', '10m']])).to.equal('NAME       AGE\nweb        5s\ndatabase   10m\n');
  });

  it('streams rows with widths that only grow', () => {
    const t = new StreamingTable(['NAME', 'AGE'], [['web', '1s']]);
    expect(t.header()).to.equal('NAME   AGE\n');
    expect(t.row(['web', '1s'])).to.equal('web    1s\n');
    expect(t.row(['database', '2s'])).to.equal('database   2s\n');
    expect(t.row(['a', '3s'])).to.equal('a          3s\n');
  });
});

describe('humanDuration (kubectl style)', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'], [45, '45s'], [119, '119s'], [120, '2m'], [330, '5m30s'], [42 * 60, '42m'], [3 * 3600 + 15 * 60, '3h15m'],
    [9 * 3600, '9h'], [30 * 3600, '30h'], [3 * 86400 + 4 * 3600, '3d4h'], [12 * 86400, '12d'], [800 * 86400, '2y70d'],
  ];
  for (const [seconds, text] of cases) it(`${seconds}s → ${text}`, () => expect(humanDuration(seconds * 1000)).to.equal(text));
  it('never goes negative (clock skew)', () => expect(humanDuration(-5000)).to.equal('0s'));
});

describe('service output', () => {
  const services = [aService('web'), aService('db', { namespace: 'data', scale: 1, ready: 1, created: ago(3600 * 5) })];

  it('table: NAME SCALE READY STATUS AGE', () => {
    expect(formatList(servicePrinter, services, 'table', table)).to.equal(
      ['NAME   SCALE   READY   STATUS    AGE', 'web    2       1/2     Running   90s', 'db     1       1/1     Running   5h'].join('\n') + '\n',
    );
  });

  it('-A adds NAMESPACE first; wide adds RUNTIME, PORTS, COMMAND', () => {
    const out = formatList(servicePrinter, services, 'wide', { ...table, allNamespaces: true });
    const [header, first] = out.split('\n');
    expect(header!.split(/\s{3,}/)).to.deep.equal(['NAMESPACE', 'NAME', 'SCALE', 'READY', 'STATUS', 'AGE', 'RUNTIME', 'PORTS', 'COMMAND']);
    expect(first!.split(/\s{3,}/)).to.deep.equal(['default', 'web', '2', '1/2', 'Running', '90s', 'process', '8080/tcp', 'node server.js']);
  });

  it('shows <none> for a service without status yet', () => {
    const bare = Service.fromPartial({ metadata: { name: 'x', createdAt: ago(1) }, spec: { scale: 3 } });
    expect(formatList(servicePrinter, [bare], 'table', table).split('\n')[1]).to.equal('x      3       0/3     <none>   1s');
  });

  it('json: a list is {"items": [...]} of proto3 JSON', () => {
    const parsed = JSON.parse(formatList(servicePrinter, services, 'json', table));
    expect(parsed.items).to.have.length(2);
    expect(parsed.items[0]).to.deep.equal(Service.toJSON(services[0]!));
    expect(parsed.items[0].metadata.createdAt).to.equal(ago(90).toISOString());
  });

  it('json and yaml: one object prints bare', () => {
    expect(JSON.parse(formatOne(servicePrinter, services[0]!, 'json', table))).to.deep.equal(Service.toJSON(services[0]!));
    expect(parseYaml(formatOne(servicePrinter, services[0]!, 'yaml', table))).to.deep.equal(Service.toJSON(services[0]!));
  });

  it('yaml: a list has items', () => {
    expect(parseYaml(formatList(servicePrinter, services, 'yaml', table)).items).to.have.length(2);
  });

  it('name: kind/name per line', () => {
    expect(formatList(servicePrinter, services, 'name', table)).to.equal('service/web\nservice/db\n');
    expect(formatList(namespacePrinter, [Namespace.fromPartial({ metadata: { name: 'dev' } })], 'name', table)).to.equal('namespace/dev\n');
  });

  it('namespaces: NAME AGE, wide adds LABELS', () => {
    const ns = Namespace.fromPartial({ metadata: { name: 'dev', createdAt: ago(600), labels: { team: 'a' } } });
    expect(formatList(namespacePrinter, [ns], 'table', table)).to.equal('NAME   AGE\ndev    10m\n');
    expect(formatList(namespacePrinter, [ns], 'wide', { ...table, wide: true })).to.equal('NAME   AGE   LABELS\ndev    10m   team=a\n');
  });
});

describe('watch output', () => {
  const event = (type: EventType, service: Service, revision: number) => ({ type, revision, kind: 'services', service, watchIds: [] });

  it('table: header and list once, then a row per change; deletions read Deleted', () => {
    const printer = new WatchPrinter(servicePrinter, 'table', { wide: false, allNamespaces: false }, 'services', () => now);
    expect(printer.start([aService('web')], 10)).to.equal('NAME   SCALE   READY   STATUS    AGE\nweb    2       1/2     Running   90s\n');
    expect(printer.event(event(EventType.EVENT_TYPE_ADDED, aService('api', { scale: 3, ready: 0, phase: 'Pending' }), 11))).to.equal('api    3       0/3     Pending   90s\n');
    expect(printer.event(event(EventType.EVENT_TYPE_DELETED, aService('web'), 12))).to.equal('web    2       1/2     Deleted   90s\n');
  });

  it('json: one WatchEvent per line, the initial list as ADDED at the list revision', () => {
    const printer = new WatchPrinter(servicePrinter, 'json', { wide: false, allNamespaces: false }, 'services', () => now);
    const lines = (printer.start([aService('web')], 10) + printer.event(event(EventType.EVENT_TYPE_MODIFIED, aService('web', { scale: 5 }), 11))).trimEnd().split('\n');
    expect(lines).to.have.length(2);
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).to.include({ type: 'EVENT_TYPE_ADDED', revision: 10, kind: 'services' });
    expect(second).to.include({ type: 'EVENT_TYPE_MODIFIED', revision: 11 });
    expect(second.service.spec.scale).to.equal(5);
  });

  it('name: kind/name per event', () => {
    const printer = new WatchPrinter(servicePrinter, 'name', { wide: false, allNamespaces: false }, 'services');
    expect(printer.start([aService('web')], 1) + printer.event(event(EventType.EVENT_TYPE_DELETED, aService('web'), 2))).to.equal('service/web\nservice/web\n');
  });
});

describe('describe service', () => {
  it('shows every spec field, the status and the metadata', () => {
    const service = Service.fromPartial({
      ...aService('web'),
      spec: {
        ...aService('web').spec!,
        workingDir: '/srv/web',
        env: { PORT: '8080', A: '1' },
        health: {
          liveness: { type: 'http', path: '/healthz', port: 8080, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 },
          readiness: { type: 'exec', command: ['cat', '/tmp/ready'], periodSeconds: 5, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 },
        },
        dependencies: ['db'],
        resources: { memory: { limit: '256Mi' } },
      },
    });
    const text = describeService(service, now);
    for (const line of [
      /^Name: +web$/m,
      /^Namespace: +default$/m,
      /^Labels: +app=web$/m,
      /^Resource Version: +7$/m,
      /^Created: +2025-01-01T11:58:30.000Z \(90s ago\)$/m,
      /^ {2}Command: +node$/m,
      /^ {2}Args: +server.js$/m,
      /^ {2}Working Dir: +\/srv\/web$/m,
      /^ {4}A: +1$/m,
      /^ {4}PORT: +8080$/m,
      /^ {2}Ports: +http 8080\/tcp$/m,
      /^ {2}Liveness: +http GET :8080\/healthz delay=0s period=10s timeout=1s #success=1 #failure=3$/m,
      /^ {2}Readiness: +exec \[cat \/tmp\/ready\] delay=0s period=5s/m,
      /^ {2}Dependencies: +db$/m,
      /^ {2}Memory Limit: +256Mi$/m,
      /^ {2}Phase: +Running$/m,
      /^ {2}Instances: +2 desired, 2 running, 1 ready$/m,
      /^ {2}Message: +<none>$/m,
    ]) {
      expect(text).to.match(line);
    }
  });
});
