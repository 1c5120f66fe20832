/**
 * Injection of secrets and configmaps into an instance, at start only:
 *
 *   env             `{{secret:NAME/KEY}}` / `{{configmap:NAME/KEY}}` replaced by the value
 *   envFrom         every key of the object, with the optional prefix (explicit `env` wins;
 *                   keys that are not valid variable names are skipped, with a warning that
 *                   names the key)
 *   secretMounts    files <dataDir>/mounts/<namespace>/<instance>/secrets/<NAME>/<KEY>, 0400
 *   configmapMounts files .../configmaps/<NAME>/<KEY>, 0440
 *                   plus RUNE_SECRETS_DIR / RUNE_CONFIGMAPS_DIR and each mount's `env` variable
 *
 * The per-instance directory (0700) is written afresh at each start and removed when the
 * instance stops (`removeMounts`). Resolved values go only into the process's environment and
 * those files: never into instance records, events, status messages or logs. Errors name the
 * object and key, never a value. Records are read from the store, not a cache, so a secret
 * re-wrapped by a KEK rotation a moment ago opens with the current KEK.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RuneError } from '../../shared/errors.js';
import type { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import type { SecretRecord } from '../../shared/gen/rune/v1/secret.js';
import type { ServiceSpec } from '../../shared/gen/rune/v1/service.js';
import { envNameProblem } from '../../shared/spec/names.js';
import { parseValueRefs, substituteValueRefs, type RefKind, type ValueRef } from '../../shared/spec/value-refs.js';
import type { KekLookup } from '../crypto/envelope.js';
import { openVersion } from '../domain/secrets.js';
import type { Store } from '../store/store.js';

export interface InjectorDeps {
  store: Store;
  keyring: KekLookup;
  dataDir: string;
  log: Logger;
}

type Spec = Pick<ServiceSpec, 'env' | 'envFrom' | 'secretMounts' | 'configmapMounts'>;

/** The variables runed sets when a service mounts secrets or configmaps. */
export const SECRETS_DIR_ENV = 'RUNE_SECRETS_DIR';
export const CONFIGMAPS_DIR_ENV = 'RUNE_CONFIGMAPS_DIR';

export class Injector {
  constructor(private readonly deps: InjectorDeps) {}

  /** <dataDir>/mounts/<namespace>/<instance>. */
  mountDir(namespace: string, instance: string): string {
    return join(this.deps.dataDir, 'mounts', namespace, instance);
  }

  /**
   * The environment of an instance of `spec`, references resolved, and its mount files written.
   * FAILED_PRECONDITION naming the missing secret, configmap or key (nothing is left written).
   */
  async prepare(namespace: string, instance: string, spec: Spec): Promise<Record<string, string>> {
    const objects = new ObjectCache(this.deps, namespace);
    const env = await this.resolve(namespace, instance, spec, objects);
    try {
      await this.writeMounts(namespace, instance, spec, objects);
    } catch (err) {
      await this.removeMounts(namespace, instance);
      throw err;
    }
    return env;
  }

  /** The environment alone (no files written): for exec probes of an instance already running. */
  resolveEnv(namespace: string, instance: string, spec: Spec): Promise<Record<string, string>> {
    return this.resolve(namespace, instance, spec, new ObjectCache(this.deps, namespace));
  }

  /** Removes the instance's mount directory (idempotent). */
  async removeMounts(namespace: string, instance: string): Promise<void> {
    await rm(this.mountDir(namespace, instance), { recursive: true, force: true });
  }

  /** Removes the mount directories of instances for which `keep(namespace, instance)` is false (start-up sweep). */
  async sweep(keep: (namespace: string, instance: string) => boolean): Promise<void> {
    const root = join(this.deps.dataDir, 'mounts');
    const namespaces = await readdir(root).catch(() => [] as string[]);
    for (const namespace of namespaces) {
      for (const instance of await readdir(join(root, namespace)).catch(() => [] as string[])) {
        if (!keep(namespace, instance)) await this.removeMounts(namespace, instance);
      }
    }
  }

  private async resolve(namespace: string, instance: string, spec: Spec, objects: ObjectCache): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const from of spec.envFrom ?? []) {
      const kind: RefKind = from.secret ? 'secret' : 'configmap';
      const name = from.secret || from.configmap;
      const data = await objects.data(kind, name);
      for (const [key, value] of Object.entries(data)) {
        const variable = from.prefix + key;
        if (envNameProblem(variable) !== undefined) {
          this.deps.log.warn({ namespace, instance, [kind]: name, key, variable }, `envFrom ${kind} "${name}": key "${key}" is not a valid environment variable name; skipped`);
          continue;
        }
        env[variable] = asEnvValue(kind, name, key, value);
      }
    }
    for (const [variable, raw] of Object.entries(spec.env ?? {})) {
      const { refs, problem } = parseValueRefs(raw);
      if (problem) throw new RuneError('FAILED_PRECONDITION', `env ${variable}: ${problem}`);
      if (refs.length === 0) {
        env[variable] = raw;
        continue;
      }
      const values = new Map<string, string>();
      for (const ref of refs) values.set(refKey(ref), asEnvValue(ref.kind, ref.name, ref.key, await objects.value(ref)));
      env[variable] = substituteValueRefs(raw, (ref) => values.get(refKey(ref))!);
    }
    if ((spec.secretMounts ?? []).length > 0) env[SECRETS_DIR_ENV] = join(this.mountDir(namespace, instance), 'secrets');
    if ((spec.configmapMounts ?? []).length > 0) env[CONFIGMAPS_DIR_ENV] = join(this.mountDir(namespace, instance), 'configmaps');
    for (const mount of spec.secretMounts ?? []) if (mount.env) env[mount.env] = join(this.mountDir(namespace, instance), 'secrets', mount.secret);
    for (const mount of spec.configmapMounts ?? []) if (mount.env) env[mount.env] = join(this.mountDir(namespace, instance), 'configmaps', mount.configmap);
    return env;
  }

  private async writeMounts(namespace: string, instance: string, spec: Spec, objects: ObjectCache): Promise<void> {
    const mounts = [
      ...(spec.secretMounts ?? []).map((m) => ({ kind: 'secret' as const, name: m.secret, keys: m.keys, dir: 'secrets', mode: 0o400 })),
      ...(spec.configmapMounts ?? []).map((m) => ({ kind: 'configmap' as const, name: m.configmap, keys: m.keys, dir: 'configmaps', mode: 0o440 })),
    ];
    const root = this.mountDir(namespace, instance);
    await rm(root, { recursive: true, force: true });
    if (mounts.length === 0) return;
    await mkdir(root, { recursive: true, mode: 0o700 });
    for (const mount of mounts) {
      const data = await objects.data(mount.kind, mount.name);
      const keys = mount.keys.length > 0 ? mount.keys : Object.keys(data);
      const dir = join(root, mount.dir, mount.name);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const key of keys) {
        const value = data[key];
        if (value === undefined) throw missingKey(mount.kind, mount.name, key, Object.keys(data));
        await writeFile(join(dir, key), value, { mode: mount.mode, flag: 'wx' });
      }
    }
  }
}

/** Each referenced object read (and, for secrets, decrypted) once per start. */
class ObjectCache {
  private readonly cache = new Map<string, Record<string, Uint8Array>>();

  constructor(
    private readonly deps: InjectorDeps,
    private readonly namespace: string,
  ) {}

  async data(kind: RefKind, name: string): Promise<Record<string, Uint8Array>> {
    const id = `${kind}/${name}`;
    const cached = this.cache.get(id);
    if (cached) return cached;
    let data: Record<string, Uint8Array>;
    if (kind === 'secret') {
      const record = await this.deps.store.get<SecretRecord>('secrets', this.namespace, name);
      const current = record?.versions.at(-1);
      if (!record || !current) throw missingObject(kind, name, this.namespace);
      data = openVersion(this.deps.keyring, record, current);
    } else {
      const configMap = await this.deps.store.get<ConfigMap>('configmaps', this.namespace, name);
      if (!configMap) throw missingObject(kind, name, this.namespace);
      data = Object.fromEntries(Object.entries(configMap.data).map(([k, v]) => [k, Buffer.from(v, 'utf8')]));
    }
    this.cache.set(id, data);
    return data;
  }

  async value(ref: ValueRef): Promise<Uint8Array> {
    const data = await this.data(ref.kind, ref.name);
    const value = data[ref.key];
    if (value === undefined) throw missingKey(ref.kind, ref.name, ref.key, Object.keys(data));
    return value;
  }
}

const refKey = (ref: ValueRef) => `${ref.kind}/${ref.name}/${ref.key}`;

function asEnvValue(kind: RefKind, name: string, key: string, value: Uint8Array): string {
  if (value.includes(0)) throw new RuneError('FAILED_PRECONDITION', `${kind} "${name}" key "${key}" holds a NUL byte, which an environment variable cannot; mount it as a file instead (${kind}Mounts)`);
  return Buffer.from(value).toString('utf8');
}

function missingObject(kind: RefKind, name: string, namespace: string): RuneError {
  return new RuneError('FAILED_PRECONDITION', `${kind} "${name}" not found in namespace "${namespace}"; create it (rune ${kind} create ${name} ...) and the instance starts`);
}

function missingKey(kind: RefKind, name: string, key: string, keys: string[]): RuneError {
  return new RuneError('FAILED_PRECONDITION', `${kind} "${name}" has no key "${key}" (its keys: ${keys.sort().join(', ') || 'none'})`);
}
