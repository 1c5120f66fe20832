/**
 * The KEK's life cycle against the store: the start-up check (every stored secret opens with
 * the KEK runed was given), its status, and rotation.
 *
 * Rotation, without downtime:
 *   1. the keyring writes a new KEK to `<kek file>.next` (0600) and makes it the active one:
 *      from now on new versions are wrapped by it, while the old KEK still opens the others;
 *   2. wait for every secret write already in flight (it may have sealed under the old KEK);
 *   3. re-wrap, record by record with compare-and-set, every version's data key that the new
 *      KEK does not wrap (ciphertexts stay as they are); repeat until a pass finds none;
 *   4. `.next` replaces the KEK file (atomic rename) and the old KEK is forgotten: it opens
 *      nothing any more, and a runed started with it refuses to start.
 * If runed dies in between, its next start finds `.next`, holds both keys and completes the
 * rotation before serving (`completePendingRotation`).
 *
 * Caveat: the store's event log keeps earlier copies of re-wrapped records (wrapped by the old
 * KEK) until it is compacted by count and age, and LevelDB drops overwritten values on its own
 * compactions; treat a leaked old KEK as able to open versions written before the rotation
 * until then.
 */
import { RuneError, isRuneError } from '../../shared/errors.js';
import type { SecretRecord } from '../../shared/gen/rune/v1/secret.js';
import { rewrapEnvelope } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../store/store.js';
import type { SecretVault } from './secrets.js';

export interface KekRotation {
  previousKekId: string;
  kekId: string;
  /** Secrets stored. */
  secrets: number;
  /** Secret versions whose data key was re-wrapped. */
  versionsRewrapped: number;
  kekFile: string;
}

export interface KekStatus {
  kekId: string;
  source: string;
  kekFile: string;
  secretVersions: number;
  versionsOnCurrentKek: number;
}

const MAX_PASSES = 10;
const CAS_RETRIES = 10;
const rotating = new WeakSet<Keyring>();

/**
 * Rotates the KEK (see the file comment). FAILED_PRECONDITION when the KEK comes from RUNE_KEK,
 * when the new KEK file cannot be written, or when a rotation is already running; DATA_LOSS when
 * a stored version does not open with the current KEK (nothing is changed for that record, and
 * the rotation stays pending: fix the record and rotate again, or restart runed to resume).
 */
export async function rotateKek(store: Store, vault: SecretVault, keyring: Keyring): Promise<KekRotation> {
  if (rotating.has(keyring)) throw new RuneError('FAILED_PRECONDITION', 'a KEK rotation is already running; wait for it to finish');
  rotating.add(keyring);
  try {
    // A rotation left pending by a failed call resumes: its previous KEK is the other one held.
    const previous = keyring.pendingRotation ? (keyring.ids.find((id) => id !== keyring.active.id) ?? '') : keyring.active.id;
    const kek = await keyring.beginRotation();
    await vault.writesSettled();
    const counts = await rewrapAll(store, keyring);
    await keyring.finishRotation();
    return { previousKekId: previous, kekId: kek.id, ...counts, kekFile: keyring.file ?? '' };
  } finally {
    rotating.delete(keyring);
  }
}

/** At start-up: completes a rotation a previous runed left half done (`<kek file>.next` found). */
export async function completePendingRotation(store: Store, keyring: Keyring): Promise<KekRotation | undefined> {
  if (!keyring.pendingRotation) return undefined;
  const previousKekId = keyring.ids.find((id) => id !== keyring.active.id) ?? '';
  const counts = await rewrapAll(store, keyring);
  await keyring.finishRotation();
  return { previousKekId, kekId: keyring.active.id, ...counts, kekFile: keyring.file ?? '' };
}

/**
 * At start-up: FAILED_PRECONDITION naming the KEK ids when a stored secret version is wrapped by
 * a KEK this runed does not have (it was started with another KEK than the secrets were written
 * with, e.g. the one a rotation replaced).
 */
export async function checkKek(store: Store, keyring: Keyring, where: string): Promise<void> {
  const unknown = new Map<string, number>();
  await forEachSecret(store, (record) => {
    for (const v of record.versions) if (!keyring.kek(v.kekId)) unknown.set(v.kekId, (unknown.get(v.kekId) ?? 0) + 1);
  });
  if (unknown.size === 0) return;
  const wrapped = [...unknown].map(([id, n]) => `KEK ${id} (${n} version${n === 1 ? '' : 's'})`).join(', ');
  const given = keyring.file ? `the KEK in ${keyring.file}` : 'the KEK in RUNE_KEK';
  throw new RuneError(
    'FAILED_PRECONDITION',
    `the secrets in ${where} are wrapped by ${wrapped}, but runed was given ${given} (KEK ${keyring.active.id}); start runed with the KEK they were written with (--kek-file, RUNE_KEK or <data-dir>/kek)`,
  );
}

export async function kekStatus(store: Store, keyring: Keyring): Promise<KekStatus> {
  let secretVersions = 0;
  let versionsOnCurrentKek = 0;
  await forEachSecret(store, (record) => {
    secretVersions += record.versions.length;
    versionsOnCurrentKek += record.versions.filter((v) => v.kekId === keyring.active.id).length;
  });
  return { kekId: keyring.active.id, source: keyring.source, kekFile: keyring.file ?? '', secretVersions, versionsOnCurrentKek };
}

/** Re-wraps every version not on the active KEK, pass after pass until one finds none. */
async function rewrapAll(store: Store, keyring: Keyring): Promise<{ secrets: number; versionsRewrapped: number }> {
  const target = keyring.active;
  let versionsRewrapped = 0;
  let secrets = 0;
  for (let pass = 1; ; pass++) {
    const stale: SecretRecord[] = [];
    secrets = 0;
    await forEachSecret(store, (record) => {
      secrets++;
      if (record.versions.some((v) => v.kekId !== target.id)) stale.push(record);
    });
    if (stale.length === 0) return { secrets, versionsRewrapped };
    if (pass > MAX_PASSES) throw new RuneError('ABORTED', `KEK rotation: secrets kept being written under the old KEK after ${MAX_PASSES} passes; rotate again`);
    for (const record of stale) versionsRewrapped += await rewrapRecord(store, keyring, record);
  }
}

/** Re-wraps one record with compare-and-set, re-reading on conflict; 0 when it is gone. */
async function rewrapRecord(store: Store, keyring: Keyring, first: SecretRecord): Promise<number> {
  let record: SecretRecord | undefined = first;
  for (let attempt = 1; record; attempt++) {
    const meta: NonNullable<SecretRecord['metadata']> = record.metadata!;
    let count = 0;
    const versions = record.versions.map((v) => {
      if (v.kekId === keyring.active.id) return v;
      count++;
      return { ...v, ...rewrapEnvelope(v, { namespace: meta.namespace, name: meta.name, version: v.version }, keyring, keyring.active) };
    });
    if (count === 0) return 0;
    try {
      await store.update<SecretRecord>('secrets', { ...record, versions });
      return count;
    } catch (err) {
      // Written or deleted meanwhile (transient): read it again; gone means nothing to do.
      if (!isRuneError(err, 'ABORTED') && !isRuneError(err, 'NOT_FOUND')) throw err;
      if (attempt >= CAS_RETRIES) throw err;
      record = await store.get<SecretRecord>('secrets', meta.namespace, meta.name);
    }
  }
  return 0;
}

async function forEachSecret(store: Store, visit: (record: SecretRecord) => void): Promise<void> {
  let continueToken = '';
  do {
    const page = await store.list<SecretRecord>('secrets', { limit: 1000, continueToken });
    for (const record of page.items) visit(record);
    continueToken = page.continueToken;
  } while (continueToken);
}
