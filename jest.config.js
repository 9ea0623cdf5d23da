/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  // e2e tests start real xrdp servers and spawn the built CLI; two cores here.
  maxWorkers: 2,
  testTimeout: 60000,
  // The run's bookkeeping: the test users it created are removed after it.
  globalSetup: "<rootDir>/test/global-setup.ts",
  globalTeardown: "<rootDir>/test/global-teardown.ts",
};
