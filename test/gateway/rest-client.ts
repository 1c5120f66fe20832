/**
 * A small fetch-based client for the REST gateway tests: JSON in, status + headers + JSON out,
 * and readers for newline-delimited JSON streams.
 */
export interface RestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RestOptions {
  body?: unknown;
  /** Raw body sent as is (overrides `body`). */
  raw?: string;
  token?: string;
  /** Send the token as X-API-Key instead of a bearer token. */
  apiKey?: boolean;
  headers?: Record<string, string>;
}

export class Rest {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  headers(options: RestOptions = {}): Record<string, string> {
    const token = options.token ?? this.token;
    const h: Record<string, string> = {};
    if (token !== undefined && token !== '') h[options.apiKey ? 'x-api-key' : 'authorization'] = options.apiKey ? token : `Bearer ${token}`;
    if (options.body !== undefined || options.raw !== undefined) h['content-type'] = 'application/json';
    return { ...h, ...options.headers };
  }

  async call<T = any>(method: string, path: string, options: RestOptions = {}): Promise<RestResponse<T>> {
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const res = await fetch(this.baseUrl + path, { method, headers: this.headers(options), body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: json as T, text };
  }

  get<T = any>(path: string, options?: RestOptions) {
    return this.call<T>('GET', path, options);
  }
  post<T = any>(path: string, body: unknown, options?: RestOptions) {
    return this.call<T>('POST', path, { ...options, body });
  }
  put<T = any>(path: string, body: unknown, options?: RestOptions) {
    return this.call<T>('PUT', path, { ...options, body });
  }
  delete<T = any>(path: string, options?: RestOptions) {
    return this.call<T>('DELETE', path, options);
  }

  /** Opens a stream; the caller reads lines and aborts it. */
  async stream(path: string, options: RestOptions & { accept?: string } = {}): Promise<OpenStream> {
    const abort = new AbortController();
    const res = await fetch(this.baseUrl + path, { headers: { ...this.headers(options), ...(options.accept ? { accept: options.accept } : {}) }, signal: abort.signal });
    return new OpenStream(res, abort);
  }
}

/** A streaming response read line by line. */
export class OpenStream {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly decoder = new TextDecoder();
  ended = false;

  constructor(
    readonly response: Response,
    private readonly abortController: AbortController,
  ) {
    this.reader = response.body?.getReader();
  }

  get status(): number {
    return this.response.status;
  }

  /** The next line (without its newline); undefined at the end of the stream. */
  async line(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        return line;
      }
      if (this.ended || !this.reader) return this.buffer ? this.take() : undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms (have ${JSON.stringify(this.buffer.slice(0, 200))})`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([this.reader.read(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms`)), left)))]).finally(() => clearTimeout(timer));
      if (chunk.done) this.ended = true;
      else this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  private take(): string {
    const rest = this.buffer;
    this.buffer = '';
    return rest;
  }

  /** Parsed NDJSON lines until `predicate` holds for one; returns that one. */
  async until(predicate: (message: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = await this.line(Math.max(1, deadline - Date.now()));
      if (line === undefined) throw new Error('the stream ended first');
      if (line.trim() === '') continue;
      const message = JSON.parse(line);
      if (predicate(message)) return message;
    }
  }

  close(): void {
    this.abortController.abort();
  }
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
