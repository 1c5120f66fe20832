/**
 * Secrets: cast (create, or a new version when the values change), get (values only when asked
 * and allowed: the handler checks `reveal`), list, delete.
 *
 * Storage: one `secrets` record (rune.v1.SecretRecord) per secret, holding its retained
 * versions, each sealed by envelope encryption (server/crypto/envelope.ts) with associated data
 * binding (namespace, name, version). Values exist in plaintext only in memory: in the request
 * being handled, and for the instant an instance is started. Nothing here logs or puts a value
 * in an error message.
 *
 * Versions count up from 1 per secret and are never reused while the secret exists. A cast whose
 * values and type equal the current version's makes no new version ("unchanged", or
 * "configured" when only labels changed). Old versions are pruned: at most `keepVersions`, and
 * fewer when the record would outgrow RECORD_BUDGET_BYTES (the current version always stays).
 */
import { RuneError } from '../../shared/errors.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import { SecretPayload, SecretRecord, type SealedSecretVersion, type Secret, type SecretVersionInfo } from '../../shared/gen/rune/v1/secret.js';
import { validateDataSizes } from '../../shared/spec/config-data.js';
import { validateDnsLabel, validateLabels } from '../../shared/spec/names.js';
import { openEnvelope, sealEnvelope, type Kek, type KekLookup } from '../crypto/envelope.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { newMeta, notFoundNamespace, parseLabelSelector, throwIfInvalid } from './objects.js';

/** The secret types runed accepts. */
export const SECRET_TYPES = ['opaque'] as const;
export const DEFAULT_SECRET_TYPE = 'opaque';
/** Default of `--secret-versions`. */
export const DEFAULT_KEEP_VERSIONS = 5;
/** Versions are pruned beyond this encoded record size (the store takes objects up to 1 MiB). */
export const RECORD_BUDGET_BYTES = 900 * 1024;

/**
 * What the secret domain needs: the KEKs and how many versions to keep, and a record of the
 * writes in flight, so a KEK rotation can wait for every write that may have sealed under the
 * old KEK before it checks that nothing is left on it.
 */
export class SecretVault {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly keyring: KekLookup & { readonly active: Kek },
    /** Versions kept per secret, at least 1. */
    readonly keepVersions: number = DEFAULT_KEEP_VERSIONS,
  ) {}

  /** Runs a write, tracked until it settles. */
  track<T>(write: () => Promise<T>): Promise<T> {
    const promise = write();
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** Resolves once every write in flight now has settled (later ones are not waited for). */
  async writesSettled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}

export type SecretCastResult = 'created' | 'updated' | 'configured' | 'unchanged';

const CAST_RETRIES = 5;

/**
 * Creates the secret or casts a new version of it. INVALID_ARGUMENT for a bad name, type, label
 * or key, or data over the size limit (messages name keys, never values); NOT_FOUND when the
 * namespace does not exist; ABORTED when `metadata.resourceVersion` is given and stale;
 * DATA_LOSS when the current version cannot be decrypted (wrong KEK). The result holds no values.
 */
export function castSecret(store: Store, vault: SecretVault, input: Secret, options: { dryRun: boolean }): Promise<{ secret: Secret; result: SecretCastResult }> {
  return vault.track(() => castSecretOnce(store, vault, input, options));
}

async function castSecretOnce(store: Store, vault: SecretVault, input: Secret, options: { dryRun: boolean }): Promise<{ secret: Secret; result: SecretCastResult }> {
  const meta = input.metadata;
  const name = meta?.name ?? '';
  const namespace = meta?.namespace || 'default';
  const labels = meta?.labels ?? {};
  const type = input.type || DEFAULT_SECRET_TYPE;
  const violations = [
    validateDnsLabel('name', name),
    validateDnsLabel('namespace', namespace),
    ...validateLabels('labels', labels),
    ...(SECRET_TYPES.includes(type as (typeof SECRET_TYPES)[number]) ? [] : [{ field: 'type', description: `must be one of: ${SECRET_TYPES.join(', ')}` }]),
    ...validateDataSizes('secret', Object.entries(input.data).map(([k, v]) => [k, v.length] as const)),
  ].filter((v) => v !== undefined);
  throwIfInvalid(`secret "${name}"`, violations);
  const namespaceMissing = () => notFoundNamespace(namespace);

  for (let attempt = 0; ; attempt++) {
    const current = await store.get<SecretRecord>('secrets', namespace, name);
    if (!current) {
      const ns = await store.get<Namespace>('namespaces', '', namespace);
      if (!ns) throw namespaceMissing();
      if (ns.metadata?.deletionTimestamp) throw new RuneError('FAILED_PRECONDITION', `namespace "${namespace}" is being deleted; nothing new can be created in it`);
      const record: SecretRecord = { metadata: newMeta(name, namespace, labels), type, versions: [sealVersion(vault.keyring.active, namespace, name, 1, input.data)] };
      if (options.dryRun) return { secret: secretView(record), result: 'created' };
      try {
        const { objects } = await store.commit([
          { op: 'check', kind: 'namespaces', namespace: '', name: namespace, exists: true, error: namespaceMissing },
          { op: 'create', kind: 'secrets', object: record },
        ]);
        return { secret: secretView(objects[1] as SecretRecord), result: 'created' };
      } catch (err) {
        if (err instanceof RuneError && err.code === 'ALREADY_EXISTS' && attempt < CAST_RETRIES) continue; // raced a create: cast again as an update
        throw err;
      }
    }
    const curMeta = current.metadata!;
    if (meta?.resourceVersion && meta.resourceVersion !== curMeta.resourceVersion) {
      throw new RuneError('ABORTED', `secret "${name}": resourceVersion ${meta.resourceVersion} is stale (current ${curMeta.resourceVersion}); read it again and retry`);
    }
    const last = current.versions.at(-1);
    const sameData = last !== undefined && current.type === type && sameValues(openVersion(vault.keyring, current, last), input.data);
    const labelsChanged = canonicalJson(curMeta.labels) !== canonicalJson(labels);
    const result: SecretCastResult = !sameData ? 'updated' : labelsChanged ? 'configured' : 'unchanged';
    if (result === 'unchanged') return { secret: secretView(current), result };
    const versions = sameData ? current.versions : pruneVersions([...current.versions, sealVersion(vault.keyring.active, namespace, name, (last?.version ?? 0) + 1, input.data)], vault.keepVersions);
    const next: SecretRecord = { ...current, type, versions, metadata: { ...curMeta, labels } };
    if (options.dryRun) return { secret: secretView(next), result };
    try {
      return { secret: secretView(await store.update('secrets', next)), result };
    } catch (err) {
      // Another writer got there between our read and write: without a caller-given version,
      // "last cast wins", so read again (transient, bounded retries).
      if (err instanceof RuneError && err.code === 'ABORTED' && !meta?.resourceVersion && attempt < CAST_RETRIES) continue;
      throw err;
    }
  }
}

/**
 * One secret: keys and metadata, plus its values when `reveal` (the caller's right to see them
 * is checked by the handler). `version` 0 is the current one; an older retained version may be
 * named. NOT_FOUND for an unknown secret or a version no longer retained; DATA_LOSS when the
 * values cannot be decrypted.
 */
export async function getSecret(store: Store, vault: SecretVault, namespace: string, name: string, options: { reveal: boolean; version?: number }): Promise<Secret> {
  const record = await store.get<SecretRecord>('secrets', namespace, name);
  if (!record) throw RuneError.notFound(`secret "${name}" not found in namespace "${namespace}"`);
  const version = options.version ? record.versions.find((v) => v.version === options.version) : record.versions.at(-1);
  if (!version) {
    throw RuneError.notFound(`secret "${name}" has no version ${options.version}; retained versions: ${record.versions.map((v) => v.version).join(', ')}`);
  }
  return secretView(record, version, options.reveal ? openVersion(vault.keyring, record, version) : undefined);
}

/** Keys and metadata of the secrets in `namespace` ("*": every namespace); never values. */
export async function listSecrets(store: Store, namespace: string, options: { limit?: number; continueToken?: string; labelSelector?: string }): Promise<{ secrets: Secret[]; listMeta: ListMeta }> {
  const page = await store.list<SecretRecord>('secrets', {
    namespace: namespace === '*' ? undefined : namespace,
    limit: options.limit,
    continueToken: options.continueToken,
    labels: parseLabelSelector(options.labelSelector ?? ''),
  });
  return { secrets: page.items.map((r) => secretView(r)), listMeta: { revision: page.revision, continueToken: page.continueToken } };
}

/** Deletes the secret with every version. NOT_FOUND when there is none. Returns it without values. */
export async function deleteSecret(store: Store, namespace: string, name: string): Promise<Secret> {
  for (let attempt = 0; ; attempt++) {
    const record = await store.get<SecretRecord>('secrets', namespace, name);
    if (!record) throw RuneError.notFound(`secret "${name}" not found in namespace "${namespace}"`);
    try {
      return secretView(await store.delete<SecretRecord>('secrets', namespace, name, { resourceVersion: record.metadata!.resourceVersion }));
    } catch (err) {
      if (err instanceof RuneError && err.code === 'ABORTED' && attempt < CAST_RETRIES) continue; // re-wrapped meanwhile: read again
      throw err;
    }
  }
}

/**
 * The values of one sealed version, by key. DATA_LOSS when they cannot be decrypted (unknown or
 * wrong KEK, altered record). The caller must not store or log them.
 */
export function openVersion(keyring: KekLookup, record: SecretRecord, version: SealedSecretVersion): Record<string, Buffer> {
  const meta = record.metadata!;
  const plaintext = openEnvelope(version, { namespace: meta.namespace, name: meta.name, version: version.version }, keyring);
  try {
    const data = SecretPayload.decode(plaintext).data;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)]));
  } finally {
    plaintext.fill(0);
  }
}

/** The API view of a record: metadata, keys, version info; `data` only when given. */
export function secretView(record: SecretRecord, version: SealedSecretVersion | undefined = record.versions.at(-1), data: Record<string, Buffer> = {}): Secret {
  return {
    metadata: record.metadata,
    type: record.type,
    keys: version?.keys ?? [],
    data,
    version: version?.version ?? 0,
    versions: record.versions.map((v): SecretVersionInfo => ({ version: v.version, createdAt: v.createdAt, keys: v.keys })),
  };
}

function sealVersion(kek: Kek, namespace: string, name: string, version: number, data: Record<string, Uint8Array>): SealedSecretVersion {
  const payload = SecretPayload.encode({ data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])) }).finish();
  try {
    const envelope = sealEnvelope(payload, { namespace, name, version }, kek);
    return { version, createdAt: new Date(), keys: Object.keys(data).sort(), ...envelope };
  } finally {
    payload.fill(0);
  }
}

/** The newest `keep` versions, fewer if the record would exceed RECORD_BUDGET_BYTES; never none. */
export function pruneVersions(versions: SealedSecretVersion[], keep: number): SealedSecretVersion[] {
  let kept = versions.slice(-Math.max(1, keep));
  while (kept.length > 1 && SecretRecord.encode({ metadata: undefined, type: '', versions: kept }).finish().length > RECORD_BUDGET_BYTES) kept = kept.slice(1);
  return kept;
}

function sameValues(current: Record<string, Buffer>, next: Record<string, Uint8Array>): boolean {
  const keys = Object.keys(current);
  try {
    return keys.length === Object.keys(next).length && keys.every((k) => next[k] !== undefined && current[k]!.equals(next[k]!));
  } finally {
    for (const value of Object.values(current)) value.fill(0);
  }
}
