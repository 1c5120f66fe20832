/**
 * Where runed's key-encryption key (KEK) comes from, and the KEKs it holds while one rotation is
 * under way.
 *
 * Sources, first match wins:
 *   1. `--kek-file PATH`: exactly 32 raw bytes, not accessible by group or others (0600/0400).
 *   2. env `RUNE_KEK`: 32 bytes as base64 (44 characters) or hex (64 digits).
 *   3. `<data-dir>/kek`: the same rules as a KEK file; generated (32 random bytes, 0600) on
 *      first start.
 * A KEK of the wrong size, or a KEK file with group/other permission bits, is refused with
 * FAILED_PRECONDITION naming the file or variable and how to fix it: runed does not start.
 *
 * Rotation (file sources only: runed cannot rewrite its environment): `beginRotation` writes a
 * new KEK to `<kek file>.next` (0600, synced) and makes it the active one; the old KEK keeps
 * opening what it wrapped until `finishRotation` renames `.next` over the KEK file and forgets
 * the old key. A runed that dies in between finds `.next` on its next start and holds both keys,
 * so the rotation can be completed (server/domain/kek.ts).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RuneError } from '../../shared/errors.js';
import { KEY_BYTES, makeKek, type Kek, type KekLookup } from './envelope.js';

export const KEK_SOURCES = ['file', 'env', 'data-dir'] as const;
export type KekSource = (typeof KEK_SOURCES)[number];

export interface KeyringOptions {
  dataDir: string;
  /** `--kek-file`: must exist. */
  kekFile?: string;
  /** The value of RUNE_KEK, when set and non-empty. */
  envKek?: string;
}

const MAKE_ONE = (path: string) => `make one with: head -c 32 /dev/urandom > ${path} && chmod 600 ${path}`;

export class Keyring implements KekLookup {
  private readonly keks = new Map<string, Kek>();
  private rotatingTo: Kek | undefined;

  private constructor(
    private activeKek: Kek,
    /** Where the KEK came from. */
    readonly source: KekSource,
    /** The KEK file (sources "file" and "data-dir"); undefined for "env". */
    readonly file: string | undefined,
  ) {
    this.keks.set(activeKek.id, activeKek);
  }

  /**
   * Loads the KEK (see the file comment for the sources and rules). When `<kek file>.next` exists,
   * a rotation was interrupted: both keys are held and `.next` is the active one
   * (`pendingRotation` is true).
   */
  static async load(options: KeyringOptions): Promise<Keyring> {
    if (options.kekFile) {
      const ring = new Keyring(await readKekFile(options.kekFile, '--kek-file'), 'file', options.kekFile);
      return ring.resumeRotation();
    }
    if (options.envKek) return new Keyring(decodeEnvKek(options.envKek), 'env', undefined);
    const path = join(options.dataDir, 'kek');
    await createKekFile(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw new RuneError('FAILED_PRECONDITION', `cannot create the KEK file ${path}: ${err.message}`);
    });
    return new Keyring(await readKekFile(path, 'KEK file'), 'data-dir', path).resumeRotation();
  }

  /** The KEK that wraps new data keys. */
  get active(): Kek {
    return this.activeKek;
  }

  kek(id: string): Kek | undefined {
    return this.keks.get(id);
  }

  get ids(): string[] {
    return [...this.keks.keys()];
  }

  /** True between beginRotation (or a start that found `.next`) and finishRotation. */
  get pendingRotation(): boolean {
    return this.rotatingTo !== undefined;
  }

  /**
   * Generates the next KEK, writes it to `<kek file>.next` (0600, synced) and makes it active;
   * the old one still opens what it wrapped. FAILED_PRECONDITION for a KEK from RUNE_KEK, or
   * when a rotation is already pending. Returns the new KEK.
   */
  async beginRotation(): Promise<Kek> {
    if (!this.file) {
      throw new RuneError('FAILED_PRECONDITION', 'the KEK comes from RUNE_KEK, which runed cannot rewrite; to rotate, start runed with --kek-file (or without RUNE_KEK, using <data-dir>/kek)');
    }
    if (this.rotatingTo) return this.rotatingTo;
    const next = nextFile(this.file);
    await createKekFile(next).catch((err: NodeJS.ErrnoException) => {
      throw new RuneError('FAILED_PRECONDITION', `cannot write the new KEK to ${next}: ${err.message}`);
    });
    const kek = await readKekFile(next, 'KEK file');
    this.keks.set(kek.id, kek);
    this.activeKek = kek;
    this.rotatingTo = kek;
    return kek;
  }

  /**
   * Ends a rotation once nothing is wrapped by the old KEKs any more: `.next` replaces the KEK
   * file (atomic rename, directory synced) and the old keys are zeroed and forgotten.
   */
  async finishRotation(): Promise<void> {
    const kek = this.rotatingTo;
    if (!kek || !this.file) return;
    await rename(nextFile(this.file), this.file);
    await syncDir(dirname(this.file));
    for (const [id, old] of this.keks) {
      if (id === kek.id) continue;
      old.key.fill(0);
      this.keks.delete(id);
    }
    this.rotatingTo = undefined;
  }

  /** Picks up `<file>.next` left by an interrupted rotation. */
  private async resumeRotation(): Promise<this> {
    const next = nextFile(this.file!);
    let kek: Kek;
    try {
      kek = await readKekFile(next, 'KEK file');
    } catch (err) {
      if (err instanceof RuneError && err.code === 'NOT_FOUND') return this;
      throw err;
    }
    if (kek.id === this.activeKek.id) {
      // The same key twice (rotation renamed, then crashed before removing): nothing pending.
      await unlink(next).catch(() => undefined);
      return this;
    }
    this.keks.set(kek.id, kek);
    this.activeKek = kek;
    this.rotatingTo = kek;
    return this;
  }
}

const nextFile = (path: string) => `${path}.next`;

/**
 * Reads and checks a KEK file: a regular file of exactly 32 bytes with no permission bits for
 * group or others. NOT_FOUND when missing; FAILED_PRECONDITION naming the file otherwise.
 */
export async function readKekFile(path: string, what: string): Promise<Kek> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RuneError('NOT_FOUND', `${what} ${path}: no such file; ${MAKE_ONE(path)}`);
    throw new RuneError('FAILED_PRECONDITION', `${what} ${path}: ${(err as Error).message}`);
  }
  if (!info.isFile()) throw new RuneError('FAILED_PRECONDITION', `${what} ${path} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new RuneError('FAILED_PRECONDITION', `${what} ${path} has mode ${mode}: a KEK must not be accessible by group or others; run: chmod 600 ${path}`);
  }
  if (info.size !== KEY_BYTES) {
    throw new RuneError('FAILED_PRECONDITION', `${what} ${path} holds ${info.size} bytes: a KEK is exactly ${KEY_BYTES} random bytes (raw, not text); ${MAKE_ONE(path)}`);
  }
  const handle = await open(path, 'r');
  try {
    const key = Buffer.alloc(KEY_BYTES);
    const { bytesRead } = await handle.read(key, 0, KEY_BYTES, 0);
    if (bytesRead !== KEY_BYTES) throw new RuneError('FAILED_PRECONDITION', `${what} ${path} changed while it was read; try again`);
    return makeKek(key);
  } finally {
    await handle.close();
  }
}

/** RUNE_KEK: 32 bytes as base64 or hex; FAILED_PRECONDITION saying what was wrong. */
export function decodeEnvKek(value: string): Kek {
  const text = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (!key || key.length !== KEY_BYTES) {
    const got = key ? `it decodes to ${key.length} bytes` : 'it is neither base64 nor hex';
    throw new RuneError('FAILED_PRECONDITION', `RUNE_KEK must be ${KEY_BYTES} random bytes as base64 (44 characters) or hex (64 digits), but ${got}; make one with: head -c 32 /dev/urandom | base64`);
  }
  return makeKek(key);
}

/**
 * Writes 32 random bytes to a new file `path` (0600): written and synced under a temporary name,
 * then hard-linked into place, so `path` never exists half-written. EEXIST when it exists.
 */
async function createKekFile(path: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(randomBytes(KEY_BYTES));
    await handle.sync();
    await handle.close();
    await link(tmp, path);
  } finally {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
