/**
 * Test certificates made with the real `openssl` binary, with the same commands the README's
 * TLS recipe shows: an EC P-256 CA, then server and client certificates it signs (server ones
 * carry `subjectAltName DNS:localhost, IP:127.0.0.1`, so clients dialling 127.0.0.1 verify them).
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when an `openssl` binary is on PATH. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A certificate and its key, as file paths. */
export interface Issued {
  name: string;
  cert: string;
  key: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A self-signed CA in `dir`: `<name>.crt`, `<name>.key`. */
export async function makeCa(dir: string, name: string): Promise<Issued> {
  await openssl(dir, ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=${name}`]);
  return { name, cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** A certificate signed by `ca`, for a server (serverAuth, SANs localhost and 127.0.0.1) or a client (clientAuth). */
export async function makeCert(dir: string, ca: Issued, name: string, usage: 'server' | 'client'): Promise<Issued> {
  await openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  const ext = usage === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n';
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', `${name}.crt`, '-days', '7', '-extfile', `${name}.ext`]);
  return { name, cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}
