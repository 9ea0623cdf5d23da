/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  // e2e tests start real xrdp servers and spawn the built CLI; two cores here.
  maxWorkers: 2,
  testTimeout: 60000,
};
