/**
 * A JSON-lines client of the local event socket for tests: sends request lines, collects every
 * line received, and waits for lines by predicate.
 */
import { connect, type Socket } from 'node:net';

export type Line = Record<string, unknown> & { event: string };

export class SocketClient {
  readonly lines: Line[] = [];
  closed = false;
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        this.lines.push(JSON.parse(this.buffer.slice(0, nl)) as Line);
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(path: string): Promise<SocketClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new SocketClient(socket)));
      socket.once('error', reject);
    });
  }

  send(request: unknown): void {
    this.socket.write(`${typeof request === 'string' ? request : JSON.stringify(request)}\n`);
  }

  /** Resolves with the first line (from index `from`) for which `match` holds. */
  async waitFor(what: string, match: (line: Line) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<Line> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const found = this.lines.slice(options.from ?? 0).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed before ${what}; lines: ${JSON.stringify(this.lines)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; lines: ${JSON.stringify(this.lines)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends one request and resolves with the next line received after it. */
  async request(request: unknown): Promise<Line> {
    const from = this.lines.length;
    this.send(request);
    return this.waitFor(`an answer to ${JSON.stringify(request)}`, () => true, { from });
  }

  /** The run events received (not history-end, status or error lines). */
  runEvents(): Line[] {
    return this.lines.filter((l) => l.event.startsWith('run:'));
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
