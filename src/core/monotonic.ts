/**
 * Monotonic milliseconds (process.hrtime), for durations. Not perf_hooks' `performance`: loading
 * it (the global is a lazy getter for the module) is a measurable part of a one-target probe's
 * start-up, and a quick command loads only what it uses (test/e2e/startup-lean.test.ts).
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
