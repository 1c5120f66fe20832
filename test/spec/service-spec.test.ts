import { expect } from 'chai';
import { Service } from '../../shared/gen/rune/v1/service.js';
import {
  applyServiceDefaults,
  documentToService,
  serviceFromDocument,
  serviceToDocument,
  validateService,
  type ServiceDocument,
} from '../../shared/spec/service-spec.js';

/** The smallest valid service document, with `patch` merged over it (undefined deletes). */
function aDoc(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const doc: Record<string, unknown> = { name: 'web', command: 'node' };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete doc[key];
    else doc[key] = value;
  }
  return doc;
}

interface Row {
  rule: string;
  doc: Record<string, unknown>;
  field: string;
  /** A fragment the message must contain. */
  says: string;
  /**
   * False when the bad value cannot be written in a rune.v1.Service message (a type error, an
   * unknown field) or reads differently there (a proto zero means "unset").
   */
  proto?: false;
}

const rows: Row[] = [
  { rule: 'name is required', doc: aDoc({ name: undefined }), field: 'name', says: 'is required' },
  { rule: 'name must be lower case', doc: aDoc({ name: 'Web' }), field: 'name', says: 'must be lower case: use "web"' },
  { rule: 'name has only DNS characters', doc: aDoc({ name: 'web_1' }), field: 'name', says: 'must contain only lower-case letters, digits and "-" (found "_"), e.g. "web-1"' },
  { rule: 'name starts and ends alphanumeric', doc: aDoc({ name: '-web' }), field: 'name', says: 'must start and end with a lower-case letter or digit' },
  { rule: 'name is at most 63 characters', doc: aDoc({ name: 'a'.repeat(64) }), field: 'name', says: 'must be at most 63 characters (is 64)' },
  { rule: 'name must be a string', doc: aDoc({ name: null }), field: 'name', says: 'must be a string, not empty (null)', proto: false },
  { rule: 'namespace is a DNS label', doc: aDoc({ namespace: 'Prod' }), field: 'namespace', says: 'must be lower case: use "prod"' },
  { rule: 'label keys are checked', doc: aDoc({ labels: { 'bad key!': 'x' } }), field: 'labels["bad key!"]', says: 'label key must consist of letters, digits' },
  { rule: 'label key prefixes are DNS subdomains', doc: aDoc({ labels: { 'Example.com/app': 'x' } }), field: 'labels["Example.com/app"]', says: 'prefix "Example.com" must be a DNS subdomain' },
  { rule: 'label values are checked', doc: aDoc({ labels: { app: 'bad value!' } }), field: 'labels.app', says: 'label value must consist of letters, digits' },
  { rule: 'labels is a mapping', doc: aDoc({ labels: 'app=web' }), field: 'labels', says: 'must be a mapping (key: value), not the string "app=web"', proto: false },
  { rule: 'runtime docker is not yet supported', doc: aDoc({ runtime: 'docker' }), field: 'runtime', says: 'runtime "docker" is not yet supported; use "process"' },
  { rule: 'runtime kubernetes is not yet supported', doc: aDoc({ runtime: 'kubernetes' }), field: 'runtime', says: 'runtime "kubernetes" is not yet supported; use "process"' },
  { rule: 'runtime is a known one', doc: aDoc({ runtime: 'podman' }), field: 'runtime', says: 'must be one of: process, docker, kubernetes' },
  { rule: 'command is required for process', doc: aDoc({ command: undefined }), field: 'command', says: 'is required for runtime "process"' },
  { rule: 'command is not empty', doc: aDoc({ command: '' }), field: 'command', says: 'must not be empty', proto: false },
  { rule: 'args are strings', doc: aDoc({ args: ['--port', 8080] }), field: 'args[1]', says: 'must be a string; quote the value: "8080"', proto: false },
  { rule: 'workingDir is absolute', doc: aDoc({ workingDir: 'srv/web' }), field: 'workingDir', says: 'must be an absolute path, e.g. "/srv/web"' },
  { rule: 'env values are strings (numbers)', doc: aDoc({ env: { PORT: 8080 } }), field: 'env.PORT', says: 'must be a string; quote the value: "8080"', proto: false },
  { rule: 'env values are strings (booleans)', doc: aDoc({ env: { DEBUG: true } }), field: 'env.DEBUG', says: 'must be a string; quote the value: "true"', proto: false },
  { rule: 'env names are valid', doc: aDoc({ env: { '1X': 'a' } }), field: 'env["1X"]', says: 'is not a valid environment variable name' },
  { rule: 'scale is at least 0', doc: aDoc({ scale: -1 }), field: 'scale', says: 'must be between 0 and 1000' },
  { rule: 'scale is at most 1000', doc: aDoc({ scale: 1001 }), field: 'scale', says: 'must be between 0 and 1000' },
  { rule: 'scale is whole', doc: aDoc({ scale: 2.5 }), field: 'scale', says: 'must be a whole number (got 2.5)', proto: false },
  { rule: 'scale is not quoted', doc: aDoc({ scale: '2' }), field: 'scale', says: 'must be a number, not the string "2"; remove the quotes', proto: false },
  { rule: 'ports is a list', doc: aDoc({ ports: { port: 80 } }), field: 'ports', says: 'must be a list, not a mapping', proto: false },
  { rule: 'port is required', doc: aDoc({ ports: [{ name: 'http' }] }), field: 'ports[0].port', says: 'is required', proto: false },
  { rule: 'port is at least 1', doc: aDoc({ ports: [{ port: 0 }] }), field: 'ports[0].port', says: 'must be between 1 and 65535' },
  { rule: 'port is at most 65535', doc: aDoc({ ports: [{ port: 80 }, { port: 70000 }] }), field: 'ports[1].port', says: 'must be between 1 and 65535' },
  { rule: 'protocol is tcp or udp', doc: aDoc({ ports: [{ port: 80, protocol: 'http' }] }), field: 'ports[0].protocol', says: 'must be one of: tcp, udp' },
  { rule: 'port names are DNS labels', doc: aDoc({ ports: [{ name: 'HTTP', port: 80 }] }), field: 'ports[0].name', says: 'must be lower case' },
  { rule: 'port names are unique', doc: aDoc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), field: 'ports[1].name', says: '"a" is already the name of ports[0]' },
  { rule: 'port numbers are unique per protocol', doc: aDoc({ ports: [{ port: 80 }, { port: 80, protocol: 'tcp' }] }), field: 'ports[1].port', says: '80/tcp is already declared by ports[0]' },
  { rule: 'unknown port field, with a hint', doc: aDoc({ ports: [{ port: 80, prot: 'tcp' }] }), field: 'ports[0].prot', says: 'unknown field "prot"; did you mean "protocol"?', proto: false },
  { rule: 'probe type is required', doc: aDoc({ health: { liveness: { port: 80 } } }), field: 'health.liveness.type', says: 'is required' },
  { rule: 'probe type is known', doc: aDoc({ health: { liveness: { type: 'grpc', port: 80 } } }), field: 'health.liveness.type', says: 'must be one of: http, tcp, exec' },
  { rule: 'http probes need a port', doc: aDoc({ health: { liveness: { type: 'http' } } }), field: 'health.liveness.port', says: 'is required for http probes' },
  { rule: 'tcp probes need a port', doc: aDoc({ health: { readiness: { type: 'tcp' } } }), field: 'health.readiness.port', says: 'is required for tcp probes' },
  { rule: 'probe port is in range', doc: aDoc({ health: { liveness: { type: 'http', port: 70000 } } }), field: 'health.liveness.port', says: 'must be between 1 and 65535' },
  { rule: 'http path starts with /', doc: aDoc({ health: { liveness: { type: 'http', port: 80, path: 'healthz' } } }), field: 'health.liveness.path', says: 'must start with "/", e.g. "/healthz"' },
  { rule: 'path is for http probes only', doc: aDoc({ health: { readiness: { type: 'tcp', port: 80, path: '/x' } } }), field: 'health.readiness.path', says: 'is only used by http probes' },
  { rule: 'exec probes need a command', doc: aDoc({ health: { readiness: { type: 'exec' } } }), field: 'health.readiness.command', says: 'is required for exec probes' },
  { rule: 'exec probe command is not empty', doc: aDoc({ health: { readiness: { type: 'exec', command: [] } } }), field: 'health.readiness.command', says: 'must have at least one element', proto: false },
  { rule: 'exec probes take no port', doc: aDoc({ health: { readiness: { type: 'exec', command: ['true'], port: 80 } } }), field: 'health.readiness.port', says: 'is not used by exec probes' },
  { rule: 'command is for exec probes only', doc: aDoc({ health: { readiness: { type: 'http', port: 80, command: ['x'] } } }), field: 'health.readiness.command', says: 'is only used by exec probes' },
  { rule: 'probe period is at least 1', doc: aDoc({ health: { liveness: { type: 'tcp', port: 80, periodSeconds: 0 } } }), field: 'health.liveness.periodSeconds', says: 'must be between 1 and 3600', proto: false },
  { rule: 'probe timeout is at most an hour', doc: aDoc({ health: { liveness: { type: 'tcp', port: 80, timeoutSeconds: 3601 } } }), field: 'health.liveness.timeoutSeconds', says: 'must be between 1 and 3600' },
  { rule: 'initial delay is not negative', doc: aDoc({ health: { liveness: { type: 'tcp', port: 80, initialDelaySeconds: -1 } } }), field: 'health.liveness.initialDelaySeconds', says: 'must be between 0 and 3600' },
  { rule: 'failure threshold is at most 100', doc: aDoc({ health: { readiness: { type: 'tcp', port: 80, failureThreshold: 101 } } }), field: 'health.readiness.failureThreshold', says: 'must be between 1 and 100' },
  { rule: 'liveness success threshold is 1', doc: aDoc({ health: { liveness: { type: 'tcp', port: 80, successThreshold: 2 } } }), field: 'health.liveness.successThreshold', says: 'must be 1 for liveness probes' },
  { rule: 'unknown health probe', doc: aDoc({ health: { startup: { type: 'tcp', port: 80 } } }), field: 'health.startup', says: 'unknown field "startup"; known fields: liveness, readiness', proto: false },
  { rule: 'restartPolicy is known, with a hint', doc: aDoc({ restartPolicy: 'always' }), field: 'restartPolicy', says: 'must be one of: Always, OnFailure, Never; did you mean "Always"?' },
  { rule: 'dependencies are DNS labels', doc: aDoc({ dependencies: ['DB'] }), field: 'dependencies[0]', says: 'must be lower case: use "db"' },
  { rule: 'no self-dependency', doc: aDoc({ dependencies: ['db', 'web'] }), field: 'dependencies[1]', says: 'a service cannot depend on itself ("web")' },
  { rule: 'no duplicate dependencies', doc: aDoc({ dependencies: ['db', 'db'] }), field: 'dependencies[1]', says: '"db" is listed twice (also dependencies[0])' },
  { rule: 'stopSignal is known, with a hint', doc: aDoc({ stopSignal: 'TERM' }), field: 'stopSignal', says: 'did you mean "SIGTERM"?' },
  { rule: 'stopTimeoutSeconds is at least 1', doc: aDoc({ stopTimeoutSeconds: 0 }), field: 'stopTimeoutSeconds', says: 'must be between 1 and 3600', proto: false },
  { rule: 'stopTimeoutSeconds is at most an hour', doc: aDoc({ stopTimeoutSeconds: 3601 }), field: 'stopTimeoutSeconds', says: 'must be between 1 and 3600' },
  { rule: 'memory limit is a quantity, with a hint', doc: aDoc({ resources: { memory: { limit: '256MB' } } }), field: 'resources.memory.limit', says: 'did you mean "256Mi"?' },
  { rule: 'memory limit has no fraction', doc: aDoc({ resources: { memory: { limit: '1.5Gi' } } }), field: 'resources.memory.limit', says: 'must be a quantity: an integer with an optional Ki, Mi, Gi, K, M or G suffix' },
  { rule: 'memory limit is positive', doc: aDoc({ resources: { memory: { limit: '0' } } }), field: 'resources.memory.limit', says: 'must be greater than 0' },
  { rule: 'image is not yet supported', doc: aDoc({ image: 'nginx' }), field: 'image', says: 'is only used by runtime "docker", which is not yet supported; remove it' },
  { rule: 'unknown top-level field, with a synonym hint', doc: aDoc({ replicas: 3 }), field: 'replicas', says: 'unknown field "replicas"; did you mean "scale"?', proto: false },
  { rule: 'unknown top-level field, with a spelling hint', doc: aDoc({ comand: 'x' }), field: 'comand', says: 'did you mean "command"?', proto: false },
];

describe('service cast-file rules', () => {
  for (const row of rows) {
    it(`${row.rule}: ${row.field}`, () => {
      const { service, violations } = serviceFromDocument(row.doc);
      expect(service, 'no service for a bad document').to.equal(undefined);
      expect(violations.map((v) => v.field), JSON.stringify(violations)).to.deep.equal([row.field]);
      expect(violations[0]!.description).to.include(row.says);
    });
  }

  it('a body that is not a mapping is reported at the top', () => {
    const { violations } = serviceFromDocument(['web']);
    expect(violations).to.deep.equal([{ field: '', description: 'must be a mapping (key: value), not a list' }]);
  });

  it('reports every problem of a document at once', () => {
    const { violations } = serviceFromDocument({ name: 'Web', scale: -1, ports: [{ port: 0 }], env: { PORT: 1 } });
    expect(violations.map((v) => v.field)).to.have.members(['name', 'scale', 'ports[0].port', 'env.PORT', 'command']);
  });
});

describe('validateService agrees with the cast-file rules', () => {
  for (const row of rows.filter((r) => r.proto !== false)) {
    it(`${row.rule}: ${row.field}`, () => {
      const message = documentToService(row.doc as ServiceDocument, 'default');
      expect(validateService(message)).to.deep.equal(serviceFromDocument(row.doc).violations);
    });
  }

  it('accepts what serviceFromDocument builds', () => {
    const { service } = serviceFromDocument(fullDoc());
    expect(validateService(service!)).to.deep.equal([]);
  });

  it('treats proto-default empty strings and zeros as unset', () => {
    const message = Service.fromPartial({ metadata: { name: 'web' }, spec: { command: 'node', ports: [{ port: 80 }], health: { liveness: { type: 'tcp', port: 80 } } } });
    expect(validateService(message)).to.deep.equal([]);
  });

  it('reports a missing spec as a missing command', () => {
    expect(validateService(Service.fromPartial({ metadata: { name: 'web' } }))).to.deep.equal([
      { field: 'command', description: 'is required for runtime "process": the executable to run, e.g. command: node' },
    ]);
  });

  it('reads a proto zero port as missing', () => {
    const message = Service.fromPartial({ metadata: { name: 'web' }, spec: { command: 'x', health: { readiness: { type: 'http' } } } });
    expect(validateService(message)).to.deep.equal([{ field: 'health.readiness.port', description: 'is required for http probes' }]);
  });

  it('round-trips a full document through serviceToDocument', () => {
    const { service } = serviceFromDocument(fullDoc());
    const again = serviceFromDocument(serviceToDocument(service!));
    expect(again.service).to.deep.equal(service);
  });
});

describe('service defaults', () => {
  it('fills every default for a minimal document', () => {
    const { service, violations } = serviceFromDocument({ name: 'web', command: 'node', ports: [{ port: 80 }], health: { liveness: { type: 'http', port: 80 }, readiness: { type: 'exec', command: ['true'] } } });
    expect(violations).to.deep.equal([]);
    expect(service!.metadata!.namespace).to.equal('default');
    const spec = service!.spec!;
    expect(spec).to.include({ runtime: 'process', scale: 1, restartPolicy: 'Always', stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 });
    expect(spec.ports[0]!.protocol).to.equal('tcp');
    expect(spec.health!.liveness).to.include({ path: '/', initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 });
    expect(spec.health!.readiness).to.include({ path: '', periodSeconds: 10 });
  });

  it('uses the given default namespace and keeps an explicit one', () => {
    expect(serviceFromDocument(aDoc(), { defaultNamespace: 'dev' }).service!.metadata!.namespace).to.equal('dev');
    expect(serviceFromDocument(aDoc({ namespace: 'prod' }), { defaultNamespace: 'dev' }).service!.metadata!.namespace).to.equal('prod');
  });

  it('keeps explicit values, including scale 0', () => {
    const { service } = serviceFromDocument(fullDoc({ scale: 0 }));
    expect(service!.spec).to.include({ scale: 0, restartPolicy: 'OnFailure', stopSignal: 'SIGINT', stopTimeoutSeconds: 30 });
    expect(service!.spec!.ports[1]!.protocol).to.equal('udp');
  });

  it('applyServiceDefaults fills a proto-default message and never mutates its input', () => {
    const input = Service.fromPartial({ metadata: { name: 'web' }, spec: { command: 'node', ports: [{ port: 80 }], health: {}, resources: { memory: { limit: '' } } } });
    const before = JSON.stringify(input);
    const out = applyServiceDefaults(input);
    expect(JSON.stringify(input)).to.equal(before);
    expect(out.metadata!.namespace).to.equal('default');
    expect(out.spec).to.include({ runtime: 'process', scale: 0, restartPolicy: 'Always', stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 });
    expect(out.spec!.ports[0]!.protocol).to.equal('tcp');
    expect(out.spec!.health, 'empty health dropped').to.equal(undefined);
    expect(out.spec!.resources, 'empty resources dropped').to.equal(undefined);
    expect(out.spec!.ports).to.not.equal(input.spec!.ports);
  });

  it('applyServiceDefaults is idempotent', () => {
    const once = applyServiceDefaults(Service.fromPartial({ metadata: { name: 'web' }, spec: { command: 'x', health: { liveness: { type: 'http', port: 1 } } } }));
    expect(applyServiceDefaults(once)).to.deep.equal(once);
  });
});

function fullDoc(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'web',
    namespace: 'default',
    labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
    runtime: 'process',
    command: 'node',
    args: ['server.js'],
    workingDir: '/srv/web',
    env: { PORT: '8080' },
    scale: 2,
    ports: [
      { name: 'http', port: 8080, protocol: 'tcp' },
      { name: 'dns', port: 53, protocol: 'udp' },
    ],
    health: {
      liveness: { type: 'http', path: '/healthz', port: 8080, initialDelaySeconds: 1, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 4, successThreshold: 1 },
      readiness: { type: 'exec', command: ['cat', '/tmp/ready'] },
    },
    restartPolicy: 'OnFailure',
    dependencies: ['db'],
    stopSignal: 'SIGINT',
    stopTimeoutSeconds: 30,
    resources: { memory: { limit: '256Mi' } },
    ...patch,
  };
}
