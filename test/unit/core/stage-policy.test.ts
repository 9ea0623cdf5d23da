import { assess } from "../../../src/core/assess";
import { DEFAULT_POLICY } from "../../../src/core/policy";
import { type StagedMeta, activationTime, decideStage, stagedUnusable } from "../../../src/core/stage-policy";
import { churnError } from "../../../src/core/config-defaults";
import { certValid } from "../../helpers/certs";
import { inspected, presentedBy } from "../../helpers/fakes";

/** core/stage-policy.ts: what `run` does with a staged pair (issue 25), with plain values and a fixed clock. */
const DAY = 86_400_000;
const now = new Date();

function assessmentOf(fromDays: number, toDays: number) {
  const pem = certValid(fromDays, toDays).certPem;
  return assess(inspected({}, pem), presentedBy(pem), DEFAULT_POLICY, now);
}

function staged(stagedDaysAgo: number, validDays = 180): StagedMeta {
  const at = now.getTime() - stagedDaysAgo * DAY;
  return {
    schema: 1,
    stagedAt: new Date(at).toISOString(),
    sha1: "A".repeat(40),
    sha256: "B".repeat(64),
    notBefore: new Date(at - 3_600_000).toISOString(),
    notAfter: new Date(at + validDays * DAY).toISOString(),
    names: ["DNS:h"],
    replaces: null,
    listener: { host: "h", port: 3389 },
  };
}

const base = { criticalDays: 7, now };

describe("decideStage", () => {
  it("without stageDays and nothing staged: rotate as before", () => {
    expect(decideStage({ ...base, problem: "renewal-due", assessment: assessmentOf(-130, 50), staged: null, stageDays: null })).toEqual({ kind: "rotate" });
  });

  it("with stageDays, a renewal stages first; a repair rotates at once", () => {
    expect(decideStage({ ...base, problem: "renewal-due", assessment: assessmentOf(-130, 50), staged: null, stageDays: 10 }).kind).toBe("stage");
    expect(decideStage({ ...base, problem: "key-missing", assessment: assessmentOf(-130, 50), staged: null, stageDays: 10 }).kind).toBe("rotate");
  });

  it("a staged pair waits for stageDays, then is activated", () => {
    const wait = decideStage({ ...base, problem: "renewal-due", assessment: assessmentOf(-130, 50), staged: staged(3), stageDays: 10 });
    expect(wait).toMatchObject({ kind: "wait", until: new Date(Date.parse(staged(3).stagedAt) + 10 * DAY).toISOString() });
    expect(decideStage({ ...base, problem: "renewal-due", assessment: assessmentOf(-140, 40), staged: staged(10), stageDays: 10 }).kind).toBe("activate");
  });

  it("expiry first: activated before stageDays when the current certificate expires within criticalDays", () => {
    const step = decideStage({ ...base, problem: "expiring", assessment: assessmentOf(-175, 5), staged: staged(2), stageDays: 10 });
    expect(step.kind).toBe("activate");
    expect(step.kind === "activate" && step.reason).toMatch(/before its stageDays \(10\) have passed: the current certificate expires in [45] days/);
  });

  it("too close to expiry to stage: rotate at once", () => {
    expect(decideStage({ ...base, problem: "expiring", assessment: assessmentOf(-175, 5), staged: null, stageDays: 10 })).toEqual({ kind: "rotate" });
  });

  it("a repair activates a usable staged pair at once; an expired staged pair is replaced by a new stage", () => {
    expect(decideStage({ ...base, problem: "key-missing", assessment: assessmentOf(-10, 170), staged: staged(1), stageDays: 10 }).kind).toBe("activate");
    const stale = decideStage({ ...base, problem: "renewal-due", assessment: assessmentOf(-130, 50), staged: staged(200), stageDays: 10 });
    expect(stale.kind).toBe("stage");
    expect(stale.kind === "stage" && stale.reason).toMatch(/expired on .*: staging a new pair instead/);
  });

  it("without stageDays, a pair staged by hand is activated when run would rotate (its pin is the one clients were told)", () => {
    expect(decideStage({ ...base, problem: "renewal-due", assessment: assessmentOf(-130, 50), staged: staged(1), stageDays: null }).kind).toBe("activate");
  });
});

describe("activationTime and stagedUnusable", () => {
  it("activation is stageDays after staging, or only by hand", () => {
    expect(activationTime(staged(0), 14)!.getTime()).toBe(Date.parse(staged(0).stagedAt) + 14 * DAY);
    expect(activationTime(staged(0), null)).toBeNull();
  });
  it("a staged pair expiring within criticalDays is not activated", () => {
    expect(stagedUnusable(staged(0), now, 7)).toBeNull();
    expect(stagedUnusable(staged(175), now, 7)).toMatch(/expires in [45] days \(criticalDays 7\)/);
  });
});

describe("churnError and stageDays", () => {
  it("a staged certificate must not already warn on the day it is activated", () => {
    expect(churnError({ warnDays: 30, rotateDays: null, validityDays: 180, renewalFraction: 2 / 3, stageDays: 14 })).toBeNull();
    expect(churnError({ warnDays: 30, rotateDays: null, validityDays: 180, renewalFraction: 2 / 3, stageDays: 150 })).toBe(
      "stageDays (150) plus warnDays (30) must be below validityDays (180): a staged certificate would already warn the day it is activated",
    );
  });
});
