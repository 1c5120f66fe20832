/**
 * Envelope encryption for secret values (AES-256-GCM twice).
 *
 * Each secret version gets a fresh random 32-byte data key (DEK). The version's plaintext is
 * sealed with the DEK under a random 12-byte nonce, with associated data binding it to its
 * (namespace, name, version): a ciphertext copied onto another secret or version does not open.
 * The DEK is then wrapped by the key-encryption key (KEK), again AES-256-GCM with its own nonce
 * and associated data (the KEK id and the same binding), and stored beside the ciphertext. Only
 * the KEK lives outside the store (a file or the environment); rotating it re-wraps DEKs without
 * touching ciphertexts.
 *
 * Guarantees: `openEnvelope` returns the plaintext only when the ciphertext, its binding, the
 * wrapped DEK and the KEK are all exactly what `sealEnvelope` used; anything else throws a
 * RuneError DATA_LOSS whose message says which step failed and names the secret and version,
 * never a value. Plaintexts and DEKs exist in memory only.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { RuneError } from '../../shared/errors.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** What a sealed value is bound to: a copy under another binding fails to open. */
export interface EnvelopeBinding {
  namespace: string;
  name: string;
  version: number;
}

/** A sealed value and its wrapped data key, as stored. Every field is needed to open it. */
export interface Envelope {
  /** AES-256-GCM ciphertext of the value under the DEK, with the 16-byte tag appended. */
  ciphertext: Buffer;
  nonce: Buffer;
  /** The DEK, AES-256-GCM under the KEK, with its tag appended. */
  wrappedDek: Buffer;
  dekNonce: Buffer;
  /** Which KEK wrapped the DEK (see `kekId`). */
  kekId: string;
}

/** A key-encryption key and its id. */
export interface Kek {
  id: string;
  key: Buffer;
}

/** The KEKs a runed knows, by id (during a rotation: the old and the new one). */
export interface KekLookup {
  kek(id: string): Kek | undefined;
  /** Ids known, for messages. */
  readonly ids: readonly string[];
}

/**
 * A KEK's id: 16 hex digits of a domain-separated SHA-256 of the key. It names the key in
 * stored envelopes and messages without revealing anything usable about it.
 */
export function kekId(key: Uint8Array): string {
  return createHash('sha256').update('rune.v1 kek id\0').update(key).digest('hex').slice(0, 16);
}

/** A Kek for `key`; INVALID_ARGUMENT unless it is exactly 32 bytes. */
export function makeKek(key: Uint8Array): Kek {
  if (key.length !== KEY_BYTES) throw RuneError.invalid('kek', `must be exactly ${KEY_BYTES} bytes, got ${key.length}`);
  return { id: kekId(key), key: Buffer.from(key) };
}

const bindingText = (b: EnvelopeBinding) => `${b.namespace}\0${b.name}\0${b.version}`;
const dataAad = (b: EnvelopeBinding) => Buffer.from(`rune.v1 secret data\0${bindingText(b)}`);
const dekAad = (id: string, b: EnvelopeBinding) => Buffer.from(`rune.v1 secret dek\0${id}\0${bindingText(b)}`);
const describe = (b: EnvelopeBinding) => `secret "${b.namespace}/${b.name}" version ${b.version}`;

function seal(key: Uint8Array, plaintext: Uint8Array, aad: Buffer): { sealed: Buffer; nonce: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { sealed, nonce };
}

/** The plaintext, or undefined when authentication fails (wrong key, nonce, AAD or altered bytes). */
function unseal(key: Uint8Array, sealed: Uint8Array, nonce: Uint8Array, aad: Buffer): Buffer | undefined {
  if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Seals `plaintext` for `binding` under a fresh DEK wrapped by `kek`. */
export function sealEnvelope(plaintext: Uint8Array, binding: EnvelopeBinding, kek: Kek): Envelope {
  const dek = randomBytes(KEY_BYTES);
  try {
    const data = seal(dek, plaintext, dataAad(binding));
    const wrapped = seal(kek.key, dek, dekAad(kek.id, binding));
    return { ciphertext: data.sealed, nonce: data.nonce, wrappedDek: wrapped.sealed, dekNonce: wrapped.nonce, kekId: kek.id };
  } finally {
    dek.fill(0);
  }
}

/** The DEK of `envelope`; DATA_LOSS when its KEK is unknown or the unwrap fails. The caller zeroes it. */
function unwrapDek(envelope: Envelope, binding: EnvelopeBinding, keks: KekLookup): Buffer {
  const kek = keks.kek(envelope.kekId);
  if (!kek) {
    throw new RuneError(
      'DATA_LOSS',
      `cannot decrypt ${describe(binding)}: its data key is wrapped by KEK ${envelope.kekId || '(none)'}, but this runed has KEK ${keks.ids.join(', ') || '(none)'}; start runed with the KEK the secrets were written with`,
    );
  }
  const dek = unseal(kek.key, envelope.wrappedDek, envelope.dekNonce, dekAad(kek.id, binding));
  if (!dek || dek.length !== KEY_BYTES) {
    throw new RuneError('DATA_LOSS', `cannot decrypt ${describe(binding)}: unwrapping its data key with KEK ${kek.id} failed (the wrapped key or its binding was altered, or the KEK is wrong)`);
  }
  return dek;
}

/**
 * The plaintext sealed in `envelope` for `binding`. DATA_LOSS when the KEK is unknown, the DEK
 * does not unwrap, or the ciphertext does not authenticate (altered, or bound to another
 * namespace, name or version).
 */
export function openEnvelope(envelope: Envelope, binding: EnvelopeBinding, keks: KekLookup): Buffer {
  const dek = unwrapDek(envelope, binding, keks);
  try {
    const plaintext = unseal(dek, envelope.ciphertext, envelope.nonce, dataAad(binding));
    if (!plaintext) throw new RuneError('DATA_LOSS', `cannot decrypt ${describe(binding)}: the ciphertext does not authenticate (it was altered, or belongs to another secret or version)`);
    return plaintext;
  } finally {
    dek.fill(0);
  }
}

/**
 * The same envelope with its DEK re-wrapped by `to` (KEK rotation): the ciphertext and its
 * nonce are kept as they are. Returns `envelope` itself when `to` already wraps it. Throws like
 * `openEnvelope` when the DEK does not unwrap.
 */
export function rewrapEnvelope(envelope: Envelope, binding: EnvelopeBinding, keks: KekLookup, to: Kek): Envelope {
  if (envelope.kekId === to.id) return envelope;
  const dek = unwrapDek(envelope, binding, keks);
  try {
    const wrapped = seal(to.key, dek, dekAad(to.id, binding));
    return { ...envelope, wrappedDek: wrapped.sealed, dekNonce: wrapped.nonce, kekId: to.id };
  } finally {
    dek.fill(0);
  }
}
