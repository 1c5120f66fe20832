/**
 * The registry of stored kinds: how each is encoded, whether it is namespaced, which part of it
 * is its "spec" (a change there bumps generation), and its field in WatchEvent's `object` oneof.
 */
import { createHash } from 'node:crypto';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { Job } from '../../shared/gen/rune/v1/job.js';
import { Run } from '../../shared/gen/rune/v1/run.js';
import { Subject, Token } from '../../shared/gen/rune/v1/auth.js';
import { Policy } from '../../shared/gen/rune/v1/policy.js';
import { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import { SecretRecord } from '../../shared/gen/rune/v1/secret.js';
import { RuneError } from '../../shared/errors.js';
import type { StoredObject } from './store.js';

export interface MessageCodec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): T;
  /** A complete copy of a partial message (missing fields get their defaults). */
  fromPartial(object: never): T;
}

export interface KindDef<T extends StoredObject = StoredObject> {
  /** Plural, lower-case, as in RBAC rules and REST paths: "services". */
  kind: string;
  namespaced: boolean;
  codec: MessageCodec<T>;
  /** A canonical form of the part whose change bumps generation; absent: never bumps. */
  spec?: (object: T) => unknown;
  /** Field number of this kind in rune.v1.WatchEvent's `object` oneof; absent: not watchable over the API. */
  watchField?: number;
}

export class KindRegistry {
  private readonly kinds = new Map<string, KindDef>();

  register<T extends StoredObject>(def: KindDef<T>): this {
    this.kinds.set(def.kind, def as unknown as KindDef);
    return this;
  }

  /** The definition of `kind`; INVALID_ARGUMENT naming the known kinds when unknown. */
  get(kind: string): KindDef {
    const def = this.kinds.get(kind);
    if (!def) {
      throw RuneError.invalid('kind', `unknown kind "${kind}"; known kinds: ${[...this.kinds.keys()].join(', ')}`);
    }
    return def;
  }

  has(kind: string): boolean {
    return this.kinds.has(kind);
  }

  all(): KindDef[] {
    return [...this.kinds.values()];
  }
}

/**
 * Stable JSON: object keys sorted, so equal values give equal strings (maps included). An empty
 * `_unknownFields` (ts-proto's place for unknown fields, present on every decoded message) is
 * left out, so a decoded message and a freshly built equal one compare equal.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) {
        const field = (v as Record<string, unknown>)[k];
        if (k === '_unknownFields' && (!field || Object.keys(field as object).length === 0)) continue;
        sorted[k] = field;
      }
      return sorted;
    }
    return v;
  });
}

/** sha256 of the canonical JSON of a spec: equal specs, equal hashes. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec ?? null)).digest('hex');
}

/** The kinds runed stores. Watch field numbers match proto/rune/v1/watch_service.proto. */
export function defaultKinds(): KindRegistry {
  return new KindRegistry()
    .register<Namespace>({ kind: 'namespaces', namespaced: false, codec: Namespace, watchField: 10 })
    .register<Service>({
      kind: 'services',
      namespaced: true,
      codec: Service,
      spec: (s) => s.spec,
      watchField: 11,
    })
    .register<Instance>({ kind: 'instances', namespaced: true, codec: Instance, spec: (i) => i.spec, watchField: 12 })
    .register<Job>({ kind: 'jobs', namespaced: true, codec: Job, spec: (j) => j.spec, watchField: 13 })
    // Names are lower-case ULIDs, so a namespace's runs list in creation order.
    .register<Run>({ kind: 'runs', namespaced: true, codec: Run, spec: (r) => r.spec, watchField: 14 })
    .register<Subject>({
      kind: 'subjects',
      namespaced: false,
      codec: Subject,
      spec: (s) => ({ type: s.type, admin: s.admin, policies: s.policies }),
    })
    .register<Token>({ kind: 'tokens', namespaced: false, codec: Token })
    .register<Policy>({ kind: 'policies', namespaced: false, codec: Policy, spec: (p) => ({ rules: p.rules, description: p.description }) })
    // Encrypted at rest (server/domain/secrets.ts) and never watchable over the API. Generation
    // follows the version: a re-wrap under a new KEK (rotation) does not bump it.
    .register<SecretRecord>({ kind: 'secrets', namespaced: true, codec: SecretRecord, spec: (s) => ({ type: s.type, version: s.versions.at(-1)?.version ?? 0 }) })
    .register<ConfigMap>({ kind: 'configmaps', namespaced: true, codec: ConfigMap, spec: (c) => c.data });
}
