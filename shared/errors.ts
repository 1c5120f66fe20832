/**
 * The one error type of Rune. Domain code throws a RuneError with a canonical gRPC code; the API
 * layer maps it to a gRPC status (server/api/status.ts) and, later, to HTTP.
 *
 * Messages say what was wrong and what to do about it, e.g.
 * `service "web": resourceVersion 12 is stale (current 15); re-read and retry`.
 */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type CodeName = keyof typeof Code;
export type CodeNumber = (typeof Code)[CodeName];

const codeNames = new Map<number, CodeName>(
  Object.entries(Code).map(([name, num]) => [num, name as CodeName]),
);

/** The name of a numeric gRPC code ("NOT_FOUND" for 5); "UNKNOWN" for anything else. */
export function codeName(code: number): CodeName {
  return codeNames.get(code) ?? 'UNKNOWN';
}

/** One problem with one field of a request or a document. */
export interface FieldViolation {
  /** Dotted path, e.g. `spec.ports[0].port`. */
  field: string;
  description: string;
}

export class RuneError extends Error {
  readonly code: CodeName;
  readonly violations: FieldViolation[];
  /** How long the client should wait before retrying (RESOURCE_EXHAUSTED), ms; sent as google.rpc.RetryInfo. */
  readonly retryAfterMs: number | undefined;

  constructor(code: CodeName, message: string, options: { violations?: FieldViolation[]; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RuneError';
    this.code = code;
    this.violations = options.violations ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The numeric gRPC status code. */
  get grpcCode(): number {
    return Code[this.code];
  }

  static invalid(field: string, description: string): RuneError {
    return new RuneError('INVALID_ARGUMENT', `${field}: ${description}`, { violations: [{ field, description }] });
  }

  static notFound(message: string): RuneError {
    return new RuneError('NOT_FOUND', message);
  }

  /** Wraps anything thrown into a RuneError; unknown errors become INTERNAL. */
  static from(err: unknown): RuneError {
    if (err instanceof RuneError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new RuneError('INTERNAL', message, { cause: err });
  }
}

export function isRuneError(err: unknown, code?: CodeName): err is RuneError {
  return err instanceof RuneError && (code === undefined || err.code === code);
}
