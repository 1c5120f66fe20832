/**
 * Binds a net.Server to a Unix socket path that nobody but runed's user can connect to, with no
 * moment at which it is more open: the socket is bound inside a fresh directory of mode 0700
 * (mkdtemp) next to the target, chmod'ed to 0600 there, then renamed onto the target path
 * (atomically replacing a stale socket). The process umask is never touched (it is shared with
 * every thread of the process).
 */
import { connect, type Server } from 'node:net';
import { chmod, lstat, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RuneError } from '../../shared/errors.js';
import { isNotFound } from '../logs/log-files.js';

/** Longest Unix socket path that binds everywhere (sun_path is 104 bytes on macOS, 108 on Linux). */
export const MAX_SOCKET_PATH = 100;

export interface PrivateSocket {
  path: string;
  /** Inode of the socket file: `remove()` leaves a socket that is not ours alone. */
  ino: number;
  /** Removes the socket file if it is still ours. */
  remove(): Promise<void>;
}

/**
 * Listens on `path` (mode 0600). A stale socket there (nobody accepting) is replaced; FAILED_PRECONDITION
 * when the path is taken by a live socket or by anything that is not a socket, or is too long.
 */
export async function listenPrivately(server: Server, path: string, flag = '--event-socket'): Promise<PrivateSocket> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new RuneError('FAILED_PRECONDITION', `socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes, too long for a Unix socket; pass ${flag} with a shorter path`);
  }
  await checkReplaceable(path, flag);
  const privateDir = await mkdtemp(join(dirname(path), '.s')); // mode 0700
  const bound = join(privateDir, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      server.once('error', fail);
      server.listen(bound, () => {
        server.off('error', fail);
        resolve();
      });
    });
    await chmod(bound, 0o600);
    await rename(bound, path);
  } catch (err) {
    server.close();
    throw new RuneError('FAILED_PRECONDITION', `cannot listen on ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(privateDir, { recursive: true, force: true });
  }
  const { ino } = await stat(path);
  return {
    path,
    ino,
    remove: async () => {
      try {
        if ((await lstat(path)).ino === ino) await rm(path, { force: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}

async function checkReplaceable(path: string, flag: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  if (!st.isSocket()) throw new RuneError('FAILED_PRECONDITION', `${path} exists and is not a socket; remove it or pass ${flag} with another path`);
  if (await accepting(path)) throw new RuneError('FAILED_PRECONDITION', `another process is listening on ${path}; stop it or pass ${flag} with another path`);
}

/** True when something accepts connections on the socket at `path`. */
function accepting(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      socket.destroy();
      resolve(live);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}
