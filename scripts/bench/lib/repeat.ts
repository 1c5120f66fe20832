/**
 * Runs a scenario's repetitions. A repetition that fails is run again once (the machine is
 * shared: another session's cleanup may kill a supervisor under test), at most `maxRetries`
 * times per scenario; the retries are returned so the report can say so. A repetition must push
 * its samples only once it has succeeded, so a retried one leaves no half pair behind.
 */
import type { ScenarioContext } from './scenario.js';

export async function repeat(ctx: ScenarioContext, body: (rep: number, attempt: number) => Promise<void>, options: { maxRetries?: number } = {}): Promise<string[]> {
  const maxRetries = options.maxRetries ?? 2;
  const retried: string[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (let attempt = 0; ; attempt++) {
      try {
        await body(rep, attempt);
        break;
      } catch (err) {
        if (attempt > 0 || retried.length >= maxRetries || Date.now() > ctx.deadline) throw err;
        const why = (err as Error).message.split('\n')[0]!;
        retried.push(`repetition ${rep + 1}: ${why}`);
        ctx.log(`rep ${rep + 1} failed (${why}); running it again`);
      }
    }
  }
  return retried;
}
