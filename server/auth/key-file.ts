import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename } from 'node:fs/promises';

/**
 * Reads a key file, or creates it with `generate()` (mode 0600, written to a temp file and
 * renamed, so a crash never leaves half a key).
 */
export async function readOrCreateSecretFile(path: string, generate: () => Uint8Array): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeSecretFile(path, generate());
  return new Uint8Array(await readFile(path));
}

/** Writes `data` to `path` with mode 0600, atomically. */
export async function writeSecretFile(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
