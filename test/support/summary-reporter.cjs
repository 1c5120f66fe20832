// Mocha's spec output, then one closing line CI reads: "N passed, N failed[, N skipped]".
// In strict mode (CI=true or RUNE_STRICT=1) a skipped test counts as a failure: a suite that
// needs an external binary may skip on a laptop, never in CI.
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

const strict = process.env.CI === 'true' || process.env.RUNE_STRICT === '1';

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push(test.fullTitle()));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures } = runner.stats;
      let failed = failures;
      if (strict && skipped.length > 0) {
        console.log(`\nstrict mode: ${skipped.length} skipped test(s) count as failures:`);
        for (const title of skipped) console.log(`  - ${title}`);
        failed += skipped.length;
        process.exitCode = 1;
      }
      const tail = !strict && skipped.length > 0 ? `, ${skipped.length} skipped` : '';
      console.log(`\n${passes} passed, ${failed} failed${tail}`);
    });
  }
}

module.exports = SummaryReporter;
