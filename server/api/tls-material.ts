/**
 * runed's TLS material — the certificate chain it presents (`--tls-cert`), its private key
 * (`--tls-key`) and, for mutual TLS, the CAs client certificates must chain to (`--client-ca`) —
 * loaded, validated, and hot-reloaded when the files change on disk.
 *
 * Every API listener takes its TLS from here: gRPC through grpc-js's certificate-provider
 * credentials (this class is a grpc-js `CertificateProvider`, see grpc-server-credentials.ts);
 * an HTTPS listener through `serverOptions()` at creation and `onReload` →
 * `server.setSecureContext(...)` afterwards. New material applies to new handshakes only:
 * established connections keep the material they were accepted with.
 *
 * Reload contract:
 * - The directories holding the files are watched (so files replaced by rename, and Kubernetes'
 *   `..data` symlink swaps, are seen); a change is read after a quiet period (`debounceMs`), and
 *   the files are also re-read every `pollMs` in case an event was missed (network file systems).
 * - New material is validated before it is used: every file parses, the key matches the
 *   certificate, the certificate has not expired, and Node builds a TLS context from the three.
 *   Material that fails is logged at error level and ignored: the previous material stays in use.
 *   A file half-written when it is read fails validation and is picked up by the next event.
 * - Unchanged bytes are no reload; the same rejected bytes are logged once, not at every poll.
 */
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { experimental } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RuneError } from '../../shared/errors.js';

export interface TlsFiles {
  /** PEM certificate chain runed presents, leaf first (`--tls-cert`). */
  certFile: string;
  /** PEM private key of that certificate, unencrypted (`--tls-key`). */
  keyFile: string;
  /** PEM bundle of the CAs client certificates must chain to (`--client-ca`); set = mutual TLS. */
  clientCaFile?: string;
}

export interface TlsMaterialOptions extends TlsFiles {
  log: Logger;
  /** Quiet period after the last change event before the files are read. Default 200 ms. */
  debounceMs?: number;
  /** Interval of a re-read that catches changes no event reported. Default 60 s; 0 turns it off. */
  pollMs?: number;
}

/** One validated set of TLS files, as bytes plus what the logs say about it. */
export interface TlsSnapshot {
  cert: Buffer;
  key: Buffer;
  /** Undefined without mutual TLS. */
  clientCa: Buffer | undefined;
  /** Subject, SANs, expiry and SHA-256 fingerprint of the leaf; subjects of the client CAs. */
  summary: { subject: string; subjectAltName: string | undefined; validTo: string; fingerprint256: string; clientCas: string[] | undefined };
  /** Session ticket keys of this version: rotated with the material, so no session resumes past a reload. */
  ticketKeys: Buffer;
}

/** What each reload attempt did: new material in use, or rejected material (the old one stays). */
export type TlsReloadEvent = { ok: true; snapshot: TlsSnapshot } | { ok: false; error: RuneError };

type Bytes = { cert: Buffer; key: Buffer; clientCa: Buffer | undefined };

export class TlsMaterial implements experimental.CertificateProvider {
  readonly files: Readonly<TlsFiles>;
  /** True when client certificates are required (`--client-ca` given). */
  readonly mutual: boolean;
  private snapshot: TlsSnapshot;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly listeners = new Set<(event: TlsReloadEvent) => void>();
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private again = false;
  private rejected: Bytes | undefined;
  private closed = false;

  private constructor(files: TlsFiles, snapshot: TlsSnapshot, options: TlsMaterialOptions) {
    this.files = files;
    this.mutual = files.clientCaFile !== undefined;
    this.snapshot = snapshot;
    this.log = options.log;
    this.debounceMs = options.debounceMs ?? 200;
  }

  /**
   * Reads and validates the files and starts watching them. Rejects with an INVALID_ARGUMENT
   * RuneError naming the flag and file when the material is unusable (runed then exits 1).
   */
  static async open(options: TlsMaterialOptions): Promise<TlsMaterial> {
    const files: TlsFiles = { certFile: resolve(options.certFile), keyFile: resolve(options.keyFile), clientCaFile: options.clientCaFile === undefined ? undefined : resolve(options.clientCaFile) };
    const snapshot = validateTlsMaterial(files, await readTlsFiles(files));
    const material = new TlsMaterial(files, snapshot, options);
    await material.warnAboutKeyMode();
    material.startWatching(options.pollMs ?? 60_000);
    options.log.info({ ...files, ...snapshot.summary }, material.mutual ? 'TLS with client certificates (mutual TLS)' : 'TLS');
    return material;
  }

  /** The material in use now. */
  get current(): TlsSnapshot {
    return this.snapshot;
  }

  /**
   * Options for `https.createServer` / `http2.createSecureServer` / `tls.createServer`: the
   * current material, and with mutual TLS, `requestCert` + `rejectUnauthorized` so a client
   * without a certificate from a `--client-ca` CA fails the handshake. After a reload, pass
   * `contextOptions()` to the server's `setSecureContext`.
   */
  serverOptions(): TlsOptions {
    return { ...this.contextOptions(), requestCert: this.mutual, rejectUnauthorized: this.mutual, minVersion: 'TLSv1.2' };
  }

  /** The current material as `tls.setSecureContext` options (with fresh session ticket keys per version). */
  contextOptions(): SecureContextOptions & { ticketKeys: Buffer } {
    const { cert, key, clientCa, ticketKeys } = this.snapshot;
    return { cert, key, ...(clientCa ? { ca: clientCa } : {}), ticketKeys };
  }

  /** Calls `listener` after every reload attempt that found changed files. Returns an unsubscribe. */
  onReload(listener: (event: TlsReloadEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads the files now and, if they changed and are valid, starts using them. Resolves once
   * done (never rejects: problems are logged and reported to `onReload` listeners). The watcher
   * calls this; tests and a future SIGHUP handler may too.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  /** Stops watching. Listeners get nothing more; the material stays readable. */
  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  // grpc-js CertificateProvider: the first update arrives on the next tick (grpc-js registers
  // its own watcher only after adding these listeners), then one per successful reload.

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): experimental.CaCertificateUpdate | null {
    return this.snapshot.clientCa ? { caCertificate: this.snapshot.clientCa } : null;
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: this.snapshot.cert, privateKey: this.snapshot.key };
  }

  private async reloadOnce(): Promise<void> {
    let bytes: Bytes;
    try {
      bytes = await readTlsFiles(this.files);
    } catch (err) {
      // A file is missing for a moment while it is replaced: the next event reads it again.
      return this.reject(RuneError.from(err), undefined);
    }
    if (this.closed || sameBytes(bytes, this.snapshot)) return;
    if (this.rejected && sameBytes(bytes, this.rejected)) return; // already reported
    let next: TlsSnapshot;
    try {
      next = validateTlsMaterial(this.files, bytes);
    } catch (err) {
      return this.reject(RuneError.from(err), bytes);
    }
    this.rejected = undefined;
    this.snapshot = next;
    this.log.info({ ...this.files, ...next.summary }, 'TLS material reloaded: new connections use it, established ones keep theirs');
    for (const listener of this.identityListeners) listener(this.identityUpdate());
    for (const listener of this.caListeners) listener(this.caUpdate());
    this.emit({ ok: true, snapshot: next });
  }

  private reject(error: RuneError, bytes: Bytes | undefined): void {
    if (this.closed) return;
    this.rejected = bytes;
    this.log.error({ ...this.files, reason: error.message }, 'TLS material not reloaded: the files on disk are not usable; still serving with the previous material');
    this.emit({ ok: false, error });
  }

  private emit(event: TlsReloadEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.warn({ err }, 'a TLS reload listener threw');
      }
    }
  }

  private startWatching(pollMs: number): void {
    const names = new Map<string, Set<string>>();
    for (const file of [this.files.certFile, this.files.keyFile, this.files.clientCaFile]) {
      if (file === undefined) continue;
      const set = names.get(dirname(file)) ?? new Set<string>();
      set.add(basename(file));
      names.set(dirname(file), set);
    }
    const schedule = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), this.debounceMs);
      this.debounce.unref();
    };
    for (const [dir, files] of names) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          // `..data` and friends: the atomic symlink swap Kubernetes uses for mounted secrets.
          if (name === null || files.has(name.toString()) || name.toString().startsWith('..')) schedule();
        });
        watcher.on('error', (err) => this.log.warn({ err, dir }, 'stopped watching a TLS directory; changes are still picked up by the periodic re-read'));
        this.watchers.push(watcher);
      } catch (err) {
        this.log.warn({ err, dir }, 'cannot watch a TLS directory; changes are picked up by the periodic re-read only');
      }
    }
    if (pollMs > 0) {
      this.poll = setInterval(() => void this.reload(), pollMs);
      this.poll.unref();
    }
  }

  private async warnAboutKeyMode(): Promise<void> {
    const mode = (await stat(this.files.keyFile)).mode & 0o777;
    if ((mode & 0o077) !== 0) this.log.warn({ keyFile: this.files.keyFile, mode: mode.toString(8) }, '--tls-key is readable by other users; chmod 600 it');
  }
}

/** Reads the three files; a RuneError naming the flag and file when one cannot be read. */
async function readTlsFiles(files: TlsFiles): Promise<Bytes> {
  const read = async (flag: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw new RuneError('INVALID_ARGUMENT', `${flag} ${path}: cannot read it: ${reason}`);
    }
  };
  const [cert, key, clientCa] = await Promise.all([
    read('--tls-cert', files.certFile),
    read('--tls-key', files.keyFile),
    files.clientCaFile === undefined ? undefined : read('--client-ca', files.clientCaFile),
  ]);
  return { cert, key, clientCa };
}

/**
 * Checks that the bytes make a usable server identity (and client CA bundle): every PEM block
 * parses, the key matches the leaf certificate, the leaf has not expired (at `now`), and Node
 * builds a TLS context from them. Throws an INVALID_ARGUMENT RuneError naming flag and file.
 */
export function validateTlsMaterial(files: TlsFiles, bytes: Bytes, now: Date = new Date()): TlsSnapshot {
  const certWhat = `--tls-cert ${files.certFile}`;
  const chain = certificatesIn(bytes.cert, certWhat);
  const leaf = chain[0]!;
  let key: KeyObject;
  try {
    key = createPrivateKey(bytes.key);
  } catch (err) {
    throw new RuneError('INVALID_ARGUMENT', `--tls-key ${files.keyFile}: not a usable PEM private key (${(err as Error).message}); encrypted keys are not supported`);
  }
  if (!leaf.checkPrivateKey(key)) throw new RuneError('INVALID_ARGUMENT', `--tls-key ${files.keyFile} does not belong to the first certificate of ${certWhat} (${leaf.subject.replace(/\n/g, ', ')})`);
  if (new Date(leaf.validTo).getTime() < now.getTime()) throw new RuneError('INVALID_ARGUMENT', `${certWhat}: the certificate expired on ${leaf.validTo}; issue a new one`);
  const cas = bytes.clientCa === undefined ? undefined : certificatesIn(bytes.clientCa, `--client-ca ${files.clientCaFile}`);
  try {
    createSecureContext({ cert: bytes.cert, key: bytes.key, ...(bytes.clientCa ? { ca: bytes.clientCa } : {}) });
  } catch (err) {
    throw new RuneError('INVALID_ARGUMENT', `TLS files ${files.certFile}, ${files.keyFile}${files.clientCaFile ? `, ${files.clientCaFile}` : ''} are not usable together: ${(err as Error).message}`);
  }
  return {
    ...bytes,
    summary: {
      subject: oneLine(leaf.subject),
      subjectAltName: leaf.subjectAltName,
      validTo: leaf.validTo,
      fingerprint256: leaf.fingerprint256,
      clientCas: cas?.map((ca) => oneLine(ca.subject)),
    },
    ticketKeys: randomBytes(48),
  };
}

function certificatesIn(pem: Buffer, what: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new RuneError('INVALID_ARGUMENT', `${what}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----")`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new RuneError('INVALID_ARGUMENT', `${what}: certificate ${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
}

function sameBytes(a: Bytes, b: Bytes): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.clientCa === undefined ? b.clientCa === undefined : b.clientCa !== undefined && a.clientCa.equals(b.clientCa));
}

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}
