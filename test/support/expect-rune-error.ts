/** Assertions on RuneError: the code is part of the contract, so tests check it exactly. */
import { expect } from 'chai';
import { RuneError, type CodeName } from '../../shared/errors.js';

/**
 * Awaits `action` (a promise, or a function that may throw synchronously or reject) and returns
 * the RuneError it failed with; fails the test when it succeeds or fails with another code.
 */
export async function expectRuneError(action: Promise<unknown> | (() => unknown), code: CodeName): Promise<RuneError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await (typeof action === 'function' ? action() : action) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) expect.fail(`expected RuneError ${code}, but it succeeded with ${JSON.stringify(outcome.value)}`);
  const { error } = outcome;
  expect(error, `expected a RuneError ${code}, got ${String(error)}`).to.be.instanceOf(RuneError);
  expect((error as RuneError).code, (error as RuneError).message).to.equal(code);
  return error as RuneError;
}
