/**
 * The kinds a cast file may hold. A document has exactly one top-level key: a kind's `key`
 * (one object) or its `listKey` (a list of them). Adding a kind (`job:`, `secret:`, ...) means
 * adding its schema module and one entry to `CAST_KINDS`, plus its member of `CastObject`.
 */
import type { FieldViolation } from '../errors.js';
import type { ConfigMap } from '../gen/rune/v1/configmap.js';
import type { Job } from '../gen/rune/v1/job.js';
import type { ObjectMeta } from '../gen/rune/v1/meta.js';
import type { Secret } from '../gen/rune/v1/secret.js';
import type { Service } from '../gen/rune/v1/service.js';
import { configMapFromDocument } from './configmap-spec.js';
import type { EnvLookup } from './env-expansion.js';
import { jobFromDocument } from './job-spec.js';
import { secretFromDocument } from './secret-spec.js';
import { serviceFromDocument } from './service-spec.js';

/** What one cast-file object turns into: the kind and its API message. */
export type CastObject =
  | { kind: 'service'; service: Service }
  | { kind: 'job'; job: Job }
  | { kind: 'secret'; secret: Secret }
  | { kind: 'configmap'; configMap: ConfigMap };

/** Options every kind's parse gets. */
export interface CastParseOptions {
  defaultNamespace: string;
  /** Environment for `${NAME}` in secret documents (the CLI's); unset names are errors. */
  env: EnvLookup;
}

export type CastKindName = CastObject['kind'];

export interface CastKind {
  kind: CastKindName;
  /** Top-level key of a document holding one object, e.g. "service". */
  key: string;
  /** Top-level key of a document holding a list of objects, e.g. "services". */
  listKey: string;
  /**
   * Checks one object body (the mapping under `key`, or one item under `listKey`) and builds
   * its message with defaults applied. `object` is set only when there are no violations;
   * violation fields are relative to the body (`ports[0].port`).
   */
  parse(body: unknown, options: CastParseOptions): { object?: CastObject; namespace?: string; name?: string; violations: FieldViolation[] };
}

const serviceKind: CastKind = {
  kind: 'service',
  key: 'service',
  listKey: 'services',
  parse(body, options) {
    const { service, violations } = serviceFromDocument(body, options);
    if (!service) return { violations };
    return { object: { kind: 'service', service }, namespace: service.metadata!.namespace, name: service.metadata!.name, violations };
  },
};

const jobKind: CastKind = {
  kind: 'job',
  key: 'job',
  listKey: 'jobs',
  parse(body, options) {
    const { job, violations } = jobFromDocument(body, options);
    if (!job) return { violations };
    return { object: { kind: 'job', job }, namespace: job.metadata!.namespace, name: job.metadata!.name, violations };
  },
};

const secretKind: CastKind = {
  kind: 'secret',
  key: 'secret',
  listKey: 'secrets',
  parse(body, options) {
    const { secret, violations } = secretFromDocument(body, options);
    if (!secret) return { violations };
    return { object: { kind: 'secret', secret }, namespace: secret.metadata!.namespace, name: secret.metadata!.name, violations };
  },
};

const configMapKind: CastKind = {
  kind: 'configmap',
  key: 'configmap',
  listKey: 'configmaps',
  parse(body, options) {
    const { configMap, violations } = configMapFromDocument(body, options);
    if (!configMap) return { violations };
    return { object: { kind: 'configmap', configMap }, namespace: configMap.metadata!.namespace, name: configMap.metadata!.name, violations };
  },
};

export const CAST_KINDS: readonly CastKind[] = [serviceKind, jobKind, secretKind, configMapKind];

/** The rank of a kind in sending order: secrets and configmaps first, so services and jobs find them. */
export function castOrder(kind: CastKindName): number {
  return kind === 'service' || kind === 'job' ? 1 : 0;
}

/** The kind whose key or list key is `key`, if any. */
export function castKindForKey(key: string): CastKind | undefined {
  return CAST_KINDS.find((k) => k.key === key || k.listKey === key);
}

/** Every top-level key a document may start with, for messages: `service, services`. */
export function castDocumentKeys(): string[] {
  return CAST_KINDS.flatMap((k) => [k.key, k.listKey]);
}

/** The metadata of a cast object, whatever its kind. */
export function castObjectMeta(object: CastObject): ObjectMeta | undefined {
  switch (object.kind) {
    case 'service':
      return object.service.metadata;
    case 'job':
      return object.job.metadata;
    case 'secret':
      return object.secret.metadata;
    case 'configmap':
      return object.configMap.metadata;
  }
}
