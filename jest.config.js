// Three tiers, each its own Jest project: unit (*.spec.ts, no I/O), int (*.int-spec.ts, real Redis and
// databases on 127.0.0.1) and e2e (*.e2e-spec.ts, the built services as real processes).
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@skreaver/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/.skreaver/'],
};

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{libs,services}/*/src/**/*.spec.ts', '<rootDir>/bench/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'int',
      testMatch: ['<rootDir>/{libs,services}/*/test/**/*.int-spec.ts'],
      // Budget of every test and hook that sets none (30 s, in tools/jest/int-timeout.cjs: Jest ignores a project's
      // own testTimeout): booting a service or a few hundred events took longer than Jest's default 5 s on a slow,
      // shared machine. Heavy tests set their own; waits inside tests poll for a condition (waitFor) instead of sleeping.
      setupFilesAfterEnv: ['<rootDir>/tools/jest/int-timeout.cjs'],
      slowTestThreshold: 15,
    },
    {
      // Packaging and operations: the chart through real Helm and the validator, compose, alerts, dashboard, runbook, backups.
      // The chart tools are ES modules (.mjs); swc turns them into CommonJS for Jest.
      ...shared,
      displayName: 'ops',
      testMatch: ['<rootDir>/tools/test/**/*.spec.ts'],
      transform: {
        '^.+\\.ts$': swc,
        '^.+\\.mjs$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
      },
      slowTestThreshold: 10,
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/src/specs/**/*.e2e-spec.ts'],
      slowTestThreshold: 60,
    },
  ],
};
