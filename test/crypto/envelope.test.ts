import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { makeKek, openEnvelope, rewrapEnvelope, sealEnvelope, type Envelope, type Kek, type KekLookup } from '../../server/crypto/envelope.js';
import { expectRuneError } from '../support/expect-rune-error.js';

const ring = (...keks: Kek[]): KekLookup => ({ kek: (id) => keks.find((k) => k.id === id), ids: keks.map((k) => k.id) });
const binding = { namespace: 'prod', name: 'db', version: 3 };
const flip = (bytes: Buffer, at: number): Buffer => {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
};

describe('envelope encryption (AES-256-GCM, DEK wrapped by KEK)', () => {
  const kek = makeKek(randomBytes(32));
  const plaintext = Buffer.from('s3cret-password-value');
  let sealed: Envelope;
  beforeEach(() => {
    sealed = sealEnvelope(plaintext, binding, kek);
  });

  it('round-trips, and the stored form holds neither the plaintext nor the DEK in the clear', () => {
    expect(openEnvelope(sealed, binding, ring(kek)).equals(plaintext)).to.equal(true);
    expect(sealed.kekId).to.equal(kek.id).and.match(/^[0-9a-f]{16}$/);
    expect(sealed.nonce).to.have.length(12);
    expect(sealed.dekNonce).to.have.length(12);
    expect(sealed.wrappedDek).to.have.length(32 + 16);
    expect(sealed.ciphertext.includes(plaintext)).to.equal(false);
  });

  it('uses a fresh DEK and nonce for every seal', () => {
    const again = sealEnvelope(plaintext, binding, kek);
    expect(Buffer.from(again.ciphertext).equals(Buffer.from(sealed.ciphertext))).to.equal(false);
    expect(Buffer.from(again.wrappedDek).equals(Buffer.from(sealed.wrappedDek))).to.equal(false);
    expect(Buffer.from(again.nonce).equals(Buffer.from(sealed.nonce))).to.equal(false);
  });

  it('rejects a tampered ciphertext, nonce or tag', async () => {
    for (const bad of [
      { ...sealed, ciphertext: flip(sealed.ciphertext, 0) },
      { ...sealed, ciphertext: flip(sealed.ciphertext, sealed.ciphertext.length - 1) }, // the tag
      { ...sealed, nonce: flip(sealed.nonce, 5) },
      { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 10) },
    ]) {
      const err = await expectRuneError(() => openEnvelope(bad, binding, ring(kek)), 'DATA_LOSS');
      expect(err.message).to.include('secret "prod/db" version 3').and.include('does not authenticate');
    }
  });

  it('rejects a tampered wrapped DEK', async () => {
    const err = await expectRuneError(() => openEnvelope({ ...sealed, wrappedDek: flip(sealed.wrappedDek, 3) }, binding, ring(kek)), 'DATA_LOSS');
    expect(err.message).to.include('unwrapping its data key');
  });

  it('rejects the right bytes under the wrong associated data (namespace, name or version)', async () => {
    for (const other of [{ ...binding, namespace: 'dev' }, { ...binding, name: 'db2' }, { ...binding, version: 4 }]) {
      await expectRuneError(() => openEnvelope(sealed, other, ring(kek)), 'DATA_LOSS');
    }
  });

  it('rejects the wrong KEK: an unknown id, and a key forged under the right id', async () => {
    const other = makeKek(randomBytes(32));
    const unknown = await expectRuneError(() => openEnvelope(sealed, binding, ring(other)), 'DATA_LOSS');
    expect(unknown.message).to.include(`wrapped by KEK ${kek.id}`).and.include(`this runed has KEK ${other.id}`);
    const forged: Kek = { id: kek.id, key: randomBytes(32) };
    const wrong = await expectRuneError(() => openEnvelope(sealed, binding, ring(forged)), 'DATA_LOSS');
    expect(wrong.message).to.include('unwrapping its data key');
  });

  it('re-wraps the DEK under a new KEK: the new one opens it, the old one no longer does', async () => {
    const next = makeKek(randomBytes(32));
    const rewrapped = rewrapEnvelope(sealed, binding, ring(kek, next), next);
    expect(rewrapped.kekId).to.equal(next.id);
    expect(Buffer.from(rewrapped.ciphertext).equals(Buffer.from(sealed.ciphertext)), 'the ciphertext is kept').to.equal(true);
    expect(openEnvelope(rewrapped, binding, ring(next)).equals(plaintext)).to.equal(true);
    await expectRuneError(() => openEnvelope(rewrapped, binding, ring(kek)), 'DATA_LOSS');
    // Even an old KEK presented under the new id cannot unwrap it.
    await expectRuneError(() => openEnvelope(rewrapped, binding, ring({ id: next.id, key: kek.key })), 'DATA_LOSS');
    expect(rewrapEnvelope(rewrapped, binding, ring(next), next)).to.equal(rewrapped);
  });

  it('accepts only 32-byte KEKs', async () => {
    await expectRuneError(() => makeKek(randomBytes(16)), 'INVALID_ARGUMENT');
    await expectRuneError(() => makeKek(randomBytes(33)), 'INVALID_ARGUMENT');
  });
});
