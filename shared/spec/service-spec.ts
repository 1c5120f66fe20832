/**
 * The `service:` cast-file document: its schema (zod, strict: unknown fields are errors), the
 * rules that span fields, the defaults, and the mapping to and from `rune.v1.Service`.
 *
 * The CLI (lint, cast) and the server (every CastService) apply exactly the same rules: the
 * server calls `validateService` on the decoded message, which maps the message back to the
 * cast-file shape (proto-default empty strings and zeros meaning "unset") and runs the same
 * schema and rules. Violation fields are cast-file paths: `name`, `ports[1].port`,
 * `health.liveness.port`.
 *
 * Defaults live in one place, `applyServiceDefaults`; the one exception is `scale`, whose
 * default (1) only applies when a cast file leaves it out — in a message `scale: 0` is a real
 * value ("stop every instance"), so the server keeps it.
 */
import { z } from 'zod';
import type { FieldViolation } from '../errors.js';
import { Service, type Probe, type ServicePort } from '../gen/rune/v1/service.js';
import { dataKeyProblem } from './config-data.js';
import { dnsLabelProblem, envNameProblem, joinField, labelKeyProblem, labelValueProblem } from './names.js';
import { quantityProblem } from './quantity.js';
import { checkSchema, intBetween, type SchemaCheck } from './schema-check.js';
import { parseValueRefs } from './value-refs.js';

export const DEFAULT_NAMESPACE = 'default';

export const RUNTIMES = ['process', 'docker', 'kubernetes'] as const;
export type Runtime = (typeof RUNTIMES)[number];
/** The runtimes runed can run today. */
export const SUPPORTED_RUNTIMES: readonly Runtime[] = ['process'];
export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
export const PORT_PROTOCOLS = ['tcp', 'udp'] as const;
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];
export const PROBE_TYPES = ['http', 'tcp', 'exec'] as const;
export type ProbeType = (typeof PROBE_TYPES)[number];
/** Signals a service may be stopped with. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGKILL', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGABRT', 'SIGALRM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export const MAX_SCALE = 1000;
/** Upper bound of every `...Seconds` field: one hour. */
export const MAX_SECONDS = 3600;
export const MAX_PROBE_THRESHOLD = 100;

/** Defaults applied to a service spec (see `applyServiceDefaults`). */
export const SERVICE_DEFAULTS = {
  runtime: 'process',
  /** Only when a cast file leaves `scale` out; a message's 0 is kept. */
  scale: 1,
  restartPolicy: 'Always',
  stopSignal: 'SIGTERM',
  stopTimeoutSeconds: 10,
  portProtocol: 'tcp',
} as const;

/** Defaults applied to each health probe. */
export const PROBE_DEFAULTS = {
  /** For http probes only. */
  httpPath: '/',
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  failureThreshold: 3,
  successThreshold: 1,
} as const;

// ---------------------------------------------------------------------------------------------
// Schema. `.meta({ description, default, typeText, defaultText })` feeds the generated
// reference (shared/spec/reference.ts): keep descriptions user-facing.

const dnsLabel = () =>
  z.string().superRefine((value, ctx) => {
    const problem = dnsLabelProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const dataKey = () =>
  z.string().superRefine((value, ctx) => {
    const problem = dataKeyProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const envName = () =>
  z.string().superRefine((value, ctx) => {
    const problem = envNameProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The fields secretMounts and configmapMounts items share besides the object's name. */
const mountFields = (field: 'secret' | 'configmap') => ({
  keys: z
    .array(dataKey())
    .optional()
    .meta({ description: `Only these keys become files; every key of the ${field} when left out.`, typeText: 'list of string', defaultText: 'every key' }),
  env: envName()
    .optional()
    .meta({ description: `Environment variable set to the directory holding this ${field}'s files.`, typeText: 'variable name' }),
});
const mountName = (field: 'secret' | 'configmap') =>
  dnsLabel().meta({ description: `Name of the ${field} (in the service's namespace).`, typeText: 'DNS label', defaultText: 'required' });

const SecretMountSchema = z.strictObject({ secret: mountName('secret'), ...mountFields('secret') }).meta({ description: 'A secret as files, mode 0400.' });
const ConfigMapMountSchema = z.strictObject({ configmap: mountName('configmap'), ...mountFields('configmap') }).meta({ description: 'A configmap as files, mode 0440.' });

const secondsField = (min: number, description: string, fallback: number) =>
  intBetween(min, MAX_SECONDS).optional().meta({ description, default: fallback });

export const ProbeSchema = z
  .strictObject({
    type: z.enum(PROBE_TYPES).meta({
      description: 'How to probe: `http` (GET `path` on `port`, any 2xx/3xx is success), `tcp` (connect to `port`) or `exec` (run `command`, exit code 0 is success).',
    }),
    path: z
      .string()
      .superRefine((value, ctx) => {
        if (!value.startsWith('/')) ctx.addIssue({ code: 'custom', message: `must start with "/", e.g. "/${value}"` });
      })
      .optional()
      .meta({ description: 'HTTP path to request (http probes only).', defaultText: '`/` (http probes)' }),
    port: intBetween(1, 65535)
      .optional()
      .meta({ description: 'Port on the instance to probe (required for http and tcp probes, not used by exec).' }),
    command: z
      .array(z.string())
      .min(1, 'must have at least one element: the program to run, e.g. [cat, /tmp/ready]')
      .optional()
      .meta({ description: 'Program and arguments to run (required for exec probes, not used by the others).' }),
    initialDelaySeconds: secondsField(0, 'Seconds after the instance starts before the first probe.', PROBE_DEFAULTS.initialDelaySeconds),
    periodSeconds: secondsField(1, 'Seconds between probes.', PROBE_DEFAULTS.periodSeconds),
    timeoutSeconds: secondsField(1, 'Seconds after which one probe counts as failed.', PROBE_DEFAULTS.timeoutSeconds),
    failureThreshold: intBetween(1, MAX_PROBE_THRESHOLD)
      .optional()
      .meta({ description: 'Consecutive failures after which the instance counts as failed.', default: PROBE_DEFAULTS.failureThreshold }),
    successThreshold: intBetween(1, MAX_PROBE_THRESHOLD)
      .optional()
      .meta({ description: 'Consecutive successes after which the instance counts as healthy again (must be 1 for liveness).', default: PROBE_DEFAULTS.successThreshold }),
  })
  .meta({ description: 'A health probe.' });

/**
 * The fields every workload document shares (services and jobs), worded for its kind: `owner`
 * is the document kind ("service", "job"), `unit` what runs ("instance", "run").
 */
export function workloadShape(owner: 'service' | 'job', unit: 'instance' | 'run') {
  const a = (noun: string) => (/^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`);
  return {
    name: dnsLabel().meta({
      description: `Name of the ${owner}, unique in its namespace: lower-case letters, digits and \`-\`, starting and ending with a letter or digit, at most 63 characters.`,
      typeText: 'DNS label',
      defaultText: 'required',
    }),
    namespace: dnsLabel()
      .optional()
      .meta({ description: `Namespace of the ${owner}.`, typeText: 'DNS label', defaultText: 'the `-n` flag, else the context namespace, else `default`' }),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: `Labels for selection (\`rune get ${owner}s -l app=web\`). Keys \`[prefix/]name\`, values at most 63 characters; both as in Kubernetes.`, typeText: 'map of string to string' }),
    runtime: z
      .enum(RUNTIMES)
      .superRefine((value, ctx) => {
        if (!SUPPORTED_RUNTIMES.includes(value)) ctx.addIssue({ code: 'custom', message: `runtime "${value}" is not yet supported; use "process"` });
      })
      .optional()
      .meta({ description: `What executes the ${owner}. Only \`process\` (a local process) is supported today.`, default: SERVICE_DEFAULTS.runtime }),
    command: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .meta({ description: 'Executable to run, looked up in PATH when not absolute.', defaultText: 'required for runtime `process`' }),
    args: z.array(z.string()).optional().meta({ description: 'Arguments passed to `command`.' }),
    workingDir: z
      .string()
      .superRefine((value, ctx) => {
        if (!value.startsWith('/')) ctx.addIssue({ code: 'custom', message: `must be an absolute path, e.g. "/${value.replace(/^[./]+/, '') || 'srv/app'}"` });
      })
      .optional()
      .meta({ description: `Absolute working directory of each ${unit}.` }),
    env: z
      .record(z.string(), z.string())
      .optional()
      .meta({
        description:
          `Environment variables. Values are strings: quote numbers and booleans (\`PORT: "8080"\`). \`{{secret:NAME/KEY}}\` and \`{{configmap:NAME/KEY}}\` anywhere in a value are replaced by that key of a secret or configmap of the namespace when ${a(unit)} starts (\`DATABASE_URL: "postgres://app:{{secret:db/password}}@db/app"\`); the value never appears in the ${owner}, its ${unit}s, events or logs.`,
        typeText: 'map of string to string',
      }),
    envFrom: z
      .array(
        z
          .strictObject({
            secret: dnsLabel().optional().meta({ description: `Name of a secret in the ${owner}'s namespace.`, typeText: 'DNS label' }),
            configmap: dnsLabel().optional().meta({ description: `Name of a configmap in the ${owner}'s namespace.`, typeText: 'DNS label' }),
            prefix: z.string().optional().meta({ description: 'Prepended to every key, e.g. `DB_`.' }),
          })
          .meta({ description: 'A whole secret or configmap as environment variables.' }),
      )
      .optional()
      .meta({
        description:
          `Every key of a secret or configmap (exactly one of \`secret\`, \`configmap\` per item) as an environment variable named \`prefix\` + key, resolved when ${a(unit)} starts. Keys that are not valid variable names are skipped; \`env\` wins over these.`,
      }),
    secretMounts: z
      .array(SecretMountSchema)
      .optional()
      .meta({
        description:
          `Secrets written as files \`$RUNE_SECRETS_DIR/<secret>/<key>\` (mode 0400, in a directory of the ${unit} under the data dir) when ${a(unit)} starts, and removed when it stops.`,
      }),
    configmapMounts: z
      .array(ConfigMapMountSchema)
      .optional()
      .meta({ description: `Configmaps written as files \`$RUNE_CONFIGMAPS_DIR/<configmap>/<key>\` (mode 0440) when ${a(unit)} starts, and removed when it stops.` }),
    stopSignal: z.enum(STOP_SIGNALS).optional().meta({ description: `Signal sent to stop ${a(unit)}.`, default: SERVICE_DEFAULTS.stopSignal }),
    stopTimeoutSeconds: intBetween(1, MAX_SECONDS)
      .optional()
      .meta({ description: 'Seconds to wait after `stopSignal` before SIGKILL.', default: SERVICE_DEFAULTS.stopTimeoutSeconds }),
    resources: z
      .strictObject({
        memory: z
          .strictObject({
            limit: z
              .string()
              .superRefine((value, ctx) => {
                const problem = quantityProblem(value);
                if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
              })
              .optional()
              .meta({ description: `Memory limit per ${unit}: an integer with an optional \`Ki\`, \`Mi\`, \`Gi\`, \`K\`, \`M\` or \`G\` suffix, e.g. \`256Mi\`.`, typeText: 'quantity' }),
          })
          .optional()
          .meta({ description: 'Memory resources.' }),
      })
      .optional()
      .meta({ description: 'Resource limits.' }),
  };
}

export const ServiceDocumentSchema = z
  .strictObject({
    ...workloadShape('service', 'instance'),
    scale: intBetween(0, MAX_SCALE).optional().meta({ description: 'Number of instances to keep running; 0 stops them all.', default: SERVICE_DEFAULTS.scale }),
    ports: z
      .array(
        z
          .strictObject({
            name: dnsLabel()
              .optional()
              .meta({ description: 'Name of the port, unique in the service.', typeText: 'DNS label' }),
            port: intBetween(1, 65535).meta({ description: 'Port number the service listens on.', defaultText: 'required' }),
            protocol: z.enum(PORT_PROTOCOLS).optional().meta({ description: 'Transport protocol.', default: SERVICE_DEFAULTS.portProtocol }),
          })
          .meta({ description: 'A port the service listens on.' }),
      )
      .optional()
      .meta({ description: 'Ports the service listens on; each number/protocol pair at most once.' }),
    health: z
      .strictObject({
        liveness: ProbeSchema.optional().meta({ description: 'Restart an instance when this probe fails `failureThreshold` times in a row.' }),
        readiness: ProbeSchema.optional().meta({ description: 'An instance is ready (counts in READY, satisfies dependencies) while this probe passes.' }),
      })
      .optional()
      .meta({ description: 'Health probes.' }),
    restartPolicy: z
      .enum(RESTART_POLICIES)
      .optional()
      .meta({ description: 'When to restart an exited instance: `Always`, `OnFailure` (non-zero exit only) or `Never`.', default: SERVICE_DEFAULTS.restartPolicy }),
    dependencies: z
      .array(dnsLabel().meta({ typeText: 'DNS label' }))
      .optional()
      .meta({ description: 'Services in the same namespace that must have a ready instance before this one starts. No duplicates, not the service itself.', typeText: 'list of DNS label' }),
    image: z
      .string()
      .superRefine((_value, ctx) => {
        ctx.addIssue({ code: 'custom', message: 'is only used by runtime "docker", which is not yet supported; remove it' });
      })
      .optional()
      .meta({ description: 'Container image (runtime `docker`; reserved, not yet supported).' }),
  })
  .meta({ description: 'A long-running service kept at `scale` instances.' });

/** A service document as written in a cast file, after schema checks (no defaults applied). */
export type ServiceDocument = z.output<typeof ServiceDocumentSchema>;
export type ProbeDocument = z.output<typeof ProbeSchema>;

// ---------------------------------------------------------------------------------------------
// Rules that span fields. They read the raw value defensively (it may be badly typed) so they
// report even when the schema found problems elsewhere.

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The cross-field rules every workload document shares (services and jobs). */
export function workloadRules(doc: unknown): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (!isPlain(doc)) return violations;
  const add = (field: string, description: string) => violations.push({ field, description });

  const runtime = doc.runtime ?? SERVICE_DEFAULTS.runtime;
  if (runtime === 'process' && doc.command === undefined) {
    add('command', 'is required for runtime "process": the executable to run, e.g. command: node');
  }
  if (isPlain(doc.labels)) {
    for (const [key, value] of Object.entries(doc.labels)) {
      const problem = labelKeyProblem(key) ?? (typeof value === 'string' ? labelValueProblem(value) : undefined);
      if (problem !== undefined) add(joinField('labels', key), problem);
    }
  }
  if (isPlain(doc.env)) {
    for (const [key, value] of Object.entries(doc.env)) {
      const problem = envNameProblem(key) ?? (typeof value === 'string' ? parseValueRefs(value).problem : undefined);
      if (problem !== undefined) add(joinField('env', key), problem);
    }
  }
  if (Array.isArray(doc.envFrom)) {
    doc.envFrom.forEach((from: unknown, i) => {
      if (!isPlain(from)) return;
      if ((from.secret === undefined) === (from.configmap === undefined)) add(`envFrom[${i}]`, 'name exactly one of secret and configmap');
      if (typeof from.prefix === 'string' && from.prefix !== '' && envNameProblem(`${from.prefix}X`) !== undefined) {
        add(`envFrom[${i}].prefix`, 'must start a valid variable name: letters, digits and "_", not starting with a digit');
      }
    });
  }
  for (const [field, kind] of [['secretMounts', 'secret'], ['configmapMounts', 'configmap']] as const) {
    const mounts = doc[field];
    if (!Array.isArray(mounts)) continue;
    const seen = new Map<string, number>();
    mounts.forEach((mount: unknown, i) => {
      if (!isPlain(mount) || typeof mount[kind] !== 'string') return;
      const first = seen.get(mount[kind]);
      if (first !== undefined) add(`${field}[${i}].${kind}`, `"${mount[kind]}" is already mounted by ${field}[${first}]; list its keys in one item`);
      else seen.set(mount[kind], i);
      if (Array.isArray(mount.keys) && new Set(mount.keys).size !== mount.keys.length) add(`${field}[${i}].keys`, 'lists a key twice');
    });
  }
  return violations;
}

function serviceRules(doc: unknown): FieldViolation[] {
  const violations = workloadRules(doc);
  if (!isPlain(doc)) return violations;
  const add = (field: string, description: string) => violations.push({ field, description });
  if (Array.isArray(doc.ports)) {
    const names = new Map<string, number>();
    const numbers = new Map<string, number>();
    doc.ports.forEach((port: unknown, i) => {
      if (!isPlain(port)) return;
      if (typeof port.name === 'string' && port.name !== '') {
        const first = names.get(port.name);
        if (first !== undefined) add(`ports[${i}].name`, `"${port.name}" is already the name of ports[${first}]; port names must be unique`);
        else names.set(port.name, i);
      }
      if (typeof port.port === 'number') {
        const protocol = typeof port.protocol === 'string' ? port.protocol : SERVICE_DEFAULTS.portProtocol;
        const key = `${port.port}/${protocol}`;
        const first = numbers.get(key);
        if (first !== undefined) add(`ports[${i}].port`, `${key} is already declared by ports[${first}]`);
        else numbers.set(key, i);
      }
    });
  }
  if (Array.isArray(doc.dependencies)) {
    const seen = new Map<string, number>();
    doc.dependencies.forEach((dep: unknown, i) => {
      if (typeof dep !== 'string') return;
      if (dep === doc.name) add(`dependencies[${i}]`, `a service cannot depend on itself ("${dep}")`);
      const first = seen.get(dep);
      if (first !== undefined) add(`dependencies[${i}]`, `"${dep}" is listed twice (also dependencies[${first}])`);
      else seen.set(dep, i);
    });
  }
  if (isPlain(doc.health)) {
    for (const which of ['liveness', 'readiness'] as const) {
      const probe = doc.health[which];
      if (isPlain(probe)) violations.push(...probeRules(`health.${which}`, probe, which));
    }
  }
  return violations;
}

function probeRules(base: string, probe: Plain, which: 'liveness' | 'readiness'): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const add = (field: string, description: string) => violations.push({ field: `${base}.${field}`, description });
  const type = probe.type;
  if (type === 'http' || type === 'tcp') {
    if (probe.port === undefined) add('port', `is required for ${type} probes`);
    if (probe.command !== undefined) add('command', `is only used by exec probes; remove it or use type: exec`);
    if (type === 'tcp' && probe.path !== undefined) add('path', 'is only used by http probes; remove it or use type: http');
  } else if (type === 'exec') {
    if (probe.command === undefined) add('command', 'is required for exec probes, e.g. command: [cat, /tmp/ready]');
    if (probe.port !== undefined) add('port', 'is not used by exec probes; remove it or use type: tcp or http');
    if (probe.path !== undefined) add('path', 'is only used by http probes; remove it or use type: http');
  }
  if (which === 'liveness' && typeof probe.successThreshold === 'number' && probe.successThreshold !== 1) {
    add('successThreshold', 'must be 1 for liveness probes');
  }
  return violations;
}

// ---------------------------------------------------------------------------------------------
// Public API.

/**
 * Checks a service document (the mapping under `service:`, or one item of `services:`)
 * against the schema and the cross-field rules. `value` is set only when there are no
 * violations. No defaults are applied.
 */
export function validateServiceDocument(doc: unknown): SchemaCheck<ServiceDocument> {
  const checked = checkSchema(ServiceDocumentSchema, doc);
  const violations = [...checked.violations, ...serviceRules(doc)];
  return violations.length === 0 ? { value: checked.value, violations } : { violations };
}

/**
 * Builds the `rune.v1.Service` for a service document (the mapping under `service:`), with
 * every default applied. `service` is set only when there are no violations. A document without
 * `namespace` gets `options.defaultNamespace` (else "default").
 */
export function serviceFromDocument(doc: unknown, options: { defaultNamespace?: string } = {}): { service?: Service; violations: FieldViolation[] } {
  const checked = validateServiceDocument(doc);
  if (checked.value === undefined) return { violations: checked.violations };
  return { service: applyServiceDefaults(documentToService(checked.value, options.defaultNamespace ?? DEFAULT_NAMESPACE)), violations: [] };
}

/**
 * The violations of a `Service` message as the server receives it (proto defaults for unset
 * fields): the same schema and rules as a cast file. Empty strings and zeros count as unset
 * where the field has a default or is optional; `scale` is taken as given. Field paths are
 * cast-file paths (`name`, not `metadata.name`). Does not modify `service`.
 */
export function validateService(service: Service): FieldViolation[] {
  return validateServiceDocument(serviceToDocument(service)).violations;
}

/**
 * A copy of `service` with every spec default filled in (runtime, restartPolicy, stopSignal,
 * stopTimeoutSeconds, port protocols, probe timings, http probe path) and an empty namespace
 * set to "default"; empty `health`/`resources` blocks are dropped so equal specs compare equal.
 * Never mutates its argument. `scale` is kept as given (0 means "stop every instance").
 */
export function applyServiceDefaults(service: Service): Service {
  const copy = Service.fromPartial(structuredClone(service));
  const metadata = copy.metadata ?? Service.fromPartial({ metadata: {} }).metadata!;
  if (metadata.namespace === '') metadata.namespace = DEFAULT_NAMESPACE;
  const spec = copy.spec ?? Service.fromPartial({ spec: {} }).spec!;
  spec.runtime ||= SERVICE_DEFAULTS.runtime;
  spec.restartPolicy ||= SERVICE_DEFAULTS.restartPolicy;
  spec.stopSignal ||= SERVICE_DEFAULTS.stopSignal;
  spec.stopTimeoutSeconds ||= SERVICE_DEFAULTS.stopTimeoutSeconds;
  for (const port of spec.ports) port.protocol ||= SERVICE_DEFAULTS.portProtocol;
  if (spec.health) {
    for (const probe of [spec.health.liveness, spec.health.readiness]) {
      if (probe) defaultProbe(probe);
    }
    if (!spec.health.liveness && !spec.health.readiness) spec.health = undefined;
  }
  if (spec.resources && (!spec.resources.memory || spec.resources.memory.limit === '')) spec.resources = undefined;
  return { ...copy, metadata, spec };
}

function defaultProbe(probe: Probe): void {
  if (probe.type === 'http') probe.path ||= PROBE_DEFAULTS.httpPath;
  probe.periodSeconds ||= PROBE_DEFAULTS.periodSeconds;
  probe.timeoutSeconds ||= PROBE_DEFAULTS.timeoutSeconds;
  probe.failureThreshold ||= PROBE_DEFAULTS.failureThreshold;
  probe.successThreshold ||= PROBE_DEFAULTS.successThreshold;
}

/**
 * The Service for a document that passed `validateServiceDocument`, without defaults (but
 * `scale` 1 when left out). Does no checking of its own.
 */
export function documentToService(doc: ServiceDocument, defaultNamespace: string): Service {
  const probe = (p: ProbeDocument | undefined) =>
    p && {
      type: p.type,
      path: p.path ?? '',
      port: p.port ?? 0,
      command: p.command ?? [],
      initialDelaySeconds: p.initialDelaySeconds ?? 0,
      periodSeconds: p.periodSeconds ?? 0,
      timeoutSeconds: p.timeoutSeconds ?? 0,
      failureThreshold: p.failureThreshold ?? 0,
      successThreshold: p.successThreshold ?? 0,
    };
  return Service.fromPartial({
    metadata: { name: doc.name, namespace: doc.namespace ?? defaultNamespace, labels: doc.labels ?? {} },
    spec: {
      runtime: doc.runtime ?? '',
      command: doc.command ?? '',
      args: doc.args ?? [],
      workingDir: doc.workingDir ?? '',
      env: doc.env ?? {},
      scale: doc.scale ?? SERVICE_DEFAULTS.scale,
      ports: (doc.ports ?? []).map((p): ServicePort => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? '' })),
      health: doc.health && { liveness: probe(doc.health.liveness), readiness: probe(doc.health.readiness) },
      restartPolicy: doc.restartPolicy ?? '',
      dependencies: doc.dependencies ?? [],
      stopSignal: doc.stopSignal ?? '',
      stopTimeoutSeconds: doc.stopTimeoutSeconds ?? 0,
      resources: doc.resources && { memory: doc.resources.memory && { limit: doc.resources.memory.limit ?? '' } },
      image: doc.image ?? '',
      envFrom: (doc.envFrom ?? []).map((f) => ({ secret: f.secret ?? '', configmap: f.configmap ?? '', prefix: f.prefix ?? '' })),
      secretMounts: (doc.secretMounts ?? []).map((m) => ({ secret: m.secret, keys: m.keys ?? [], env: m.env ?? '' })),
      configmapMounts: (doc.configmapMounts ?? []).map((m) => ({ configmap: m.configmap, keys: m.keys ?? [], env: m.env ?? '' })),
    },
  });
}

/**
 * The cast-file form of a Service message: unset (empty, zero) fields left out, `scale` always
 * present. The result is what a cast file for this service would say; it may be invalid.
 */
export function serviceToDocument(service: Service): Record<string, unknown> {
  const meta = service.metadata;
  const spec = service.spec;
  const doc: Plain = { name: meta?.name ?? '' };
  const set = (key: string, value: unknown) => {
    const empty = value === undefined || value === '' || value === 0 || (Array.isArray(value) && value.length === 0) || (isPlain(value) && Object.keys(value).length === 0);
    if (!empty) doc[key] = value;
  };
  set('namespace', meta?.namespace);
  set('labels', meta?.labels);
  if (!spec) return { ...doc, scale: 0 };
  set('runtime', spec.runtime);
  set('command', spec.command);
  set('args', spec.args);
  set('workingDir', spec.workingDir);
  set('env', spec.env);
  doc.scale = spec.scale;
  set(
    'ports',
    spec.ports.map((p) => compact({ name: p.name, port: p.port, protocol: p.protocol }, ['port'])),
  );
  if (spec.health && (spec.health.liveness || spec.health.readiness)) {
    doc.health = compact({ liveness: spec.health.liveness && probeToDocument(spec.health.liveness), readiness: spec.health.readiness && probeToDocument(spec.health.readiness) });
  }
  set('restartPolicy', spec.restartPolicy);
  set('dependencies', spec.dependencies);
  set('stopSignal', spec.stopSignal);
  set('stopTimeoutSeconds', spec.stopTimeoutSeconds);
  if (spec.resources?.memory?.limit) doc.resources = { memory: { limit: spec.resources.memory.limit } };
  set('image', spec.image);
  set(
    'envFrom',
    spec.envFrom.map((f) => compact({ secret: f.secret, configmap: f.configmap, prefix: f.prefix })),
  );
  set(
    'secretMounts',
    spec.secretMounts.map((m) => compact({ secret: m.secret, keys: m.keys, env: m.env }, ['secret'])),
  );
  set(
    'configmapMounts',
    spec.configmapMounts.map((m) => compact({ configmap: m.configmap, keys: m.keys, env: m.env }, ['configmap'])),
  );
  return doc;
}

function probeToDocument(probe: Probe): Plain {
  return compact({
    type: probe.type,
    path: probe.path,
    port: probe.port,
    command: probe.command,
    initialDelaySeconds: probe.initialDelaySeconds,
    periodSeconds: probe.periodSeconds,
    timeoutSeconds: probe.timeoutSeconds,
    failureThreshold: probe.failureThreshold,
    successThreshold: probe.successThreshold,
  });
}

/** Drops undefined, '', 0 and [] values, except the keys in `keep`. */
function compact(object: Plain, keep: readonly string[] = []): Plain {
  const out: Plain = {};
  for (const [key, value] of Object.entries(object)) {
    const empty = value === undefined || value === '' || value === 0 || (Array.isArray(value) && value.length === 0);
    if (!empty || keep.includes(key)) out[key] = value;
  }
  return out;
}
