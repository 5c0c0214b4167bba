// Prints one plain closing line ("N passed, N failed, N skipped") that CI log readers understand, and counts the
// suites that failed to run (an error at collection fails no test, so "0 failed" alone would hide it).
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const broken = results.numRuntimeErrorTestSuites;
    const suites = broken ? `, ${broken} suite${broken === 1 ? '' : 's'} failed to run` : '';
    process.stdout.write(`jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped${suites}\n`);
  }
}
module.exports = SummaryReporter;
