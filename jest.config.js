/** Tests are TypeScript, run through ts-jest without type checking (npm test type-checks first). */
module.exports = {
  testEnvironment: '<rootDir>/test/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // One onnxruntime-node per process (see test/environment.js).
  moduleNameMapper: { '^onnxruntime-node$': '<rootDir>/test/onnxruntime-node.js' },
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
