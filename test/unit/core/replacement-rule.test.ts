import { type Assessment, type Problem, assess } from "../../../src/core/assess";
import { describeCertificate } from "../../../src/core/certificate";
import { DEFAULT_POLICY } from "../../../src/core/policy";
import { type CertificateOrigin, fixedByReplacement, replacementVerdict } from "../../../src/core/replacement-rule";
import { certValid } from "../../helpers/certs";
import { der, inspected, presentedBy } from "../../helpers/fakes";

/**
 * "May we replace this certificate?": the one rule run's policy and rotate
 * both ask. A table of plain assessments, then the rule over real ones.
 */

const problem = (verdict: Problem["verdict"], code: string, fixed: boolean): Problem => ({
  verdict,
  code,
  reason: `${code} (reason)`,
  fix: null,
  fixedByReplacement: fixed,
});

const EXPIRING = problem("WARN", "expiring", true);
const EXPIRED = problem("EXPIRED", "expired", true);
const KEY_MISSING = problem("CORRUPT", "key-missing", true);
const KEY_UNREADABLE = problem("CORRUPT", "key-unreadable", false);
const DOWN = problem("DOWN", "connect-refused", false);
const NOT_YET_VALID = problem("NOT-YET-VALID", "not-yet-valid", false);
const PRESENTED_EXPIRING = problem("WARN", "presented-expiring", false);
const UNKNOWN = problem("UNKNOWN", "key-unchecked", false);

function assessment(status: Assessment["status"], problems: readonly Problem[]): Assessment {
  return {
    status,
    health: "ok",
    reason: problems[0]?.reason ?? "all well",
    fix: null,
    problems,
    configured: null,
    presented: null,
    renewalTime: null,
    unchecked: [],
  };
}

const stranger: CertificateOrigin = { issuance: "self-signed", issuedByRdpcert: false };
const own: CertificateOrigin = { issuance: "self-signed", issuedByRdpcert: true };

describe("replacementVerdict: the table", () => {
  const cases: ReadonlyArray<readonly [string, Assessment, CertificateOrigin, string, string | null]> = [
    ["healthy", assessment("OK", []), stranger, "healthy", null],
    ["expiring self-signed", assessment("WARN", [EXPIRING]), stranger, "replace", "expiring"],
    ["expired", assessment("EXPIRED", [EXPIRED]), stranger, "replace", "expired"],
    ["a missing key: a new pair repairs it", assessment("CORRUPT", [KEY_MISSING]), stranger, "replace", "key-missing"],
    ["an unreadable key blocks, even beside an expiring certificate", assessment("CORRUPT", [KEY_UNREADABLE, EXPIRING]), stranger, "blocked", "key-unreadable"],
    ["a critical problem listed after a fixable one still blocks", assessment("CORRUPT", [EXPIRING, KEY_UNREADABLE]), stranger, "blocked", "key-unreadable"],
    ["a listener that is down blocks", assessment("DOWN", [DOWN, EXPIRED]), own, "blocked", "connect-refused"],
    ["someone else's not-yet-valid certificate: check the clock", assessment("NOT-YET-VALID", [NOT_YET_VALID]), stranger, "blocked", "not-yet-valid"],
    [
      "rdpcert's own not-yet-valid self-signed certificate: its own clock mistake to repair",
      assessment("NOT-YET-VALID", [NOT_YET_VALID]),
      own,
      "replace",
      "not-yet-valid",
    ],
    [
      "a not-yet-valid CA-issued certificate is never rdpcert's to repair",
      assessment("NOT-YET-VALID", [NOT_YET_VALID]),
      { issuance: "ca-issued", issuedByRdpcert: true },
      "blocked",
      "not-yet-valid",
    ],
    ["not inspected: no exception", assessment("NOT-YET-VALID", [NOT_YET_VALID]), { issuance: null, issuedByRdpcert: true }, "blocked", "not-yet-valid"],
    ["a warning a new certificate does not fix", assessment("WARN", [PRESENTED_EXPIRING]), stranger, "not-fixed-by-replacement", null],
    ["unknown: nothing a new certificate fixes", assessment("UNKNOWN", [UNKNOWN]), own, "not-fixed-by-replacement", null],
    ["a warning beside a fixable problem: replace for the fixable one", assessment("WARN", [PRESENTED_EXPIRING, EXPIRING]), stranger, "replace", "expiring"],
  ];

  it.each(cases)("%s", (_name, a, origin, kind, code) => {
    const verdict = replacementVerdict(a, origin);
    expect(verdict.kind).toBe(kind);
    const named = verdict.kind === "replace" ? verdict.trigger.code : verdict.kind === "blocked" ? verdict.problem.code : null;
    expect(named).toBe(code);
  });

  it("marks rdpcert's own not-yet-valid problem as fixed in the problems it returns, and changes no other", () => {
    const verdict = replacementVerdict(assessment("NOT-YET-VALID", [NOT_YET_VALID, PRESENTED_EXPIRING]), own);
    expect(verdict.problems.map((p) => [p.code, p.fixedByReplacement])).toEqual([
      ["not-yet-valid", true],
      ["presented-expiring", false],
    ]);
    expect(fixedByReplacement(NOT_YET_VALID, stranger)).toBe(false);
    expect(fixedByReplacement(EXPIRING, stranger)).toBe(true);
  });
});

describe("replacementVerdict over real assessments", () => {
  const now = new Date();
  const judged = (pem: string): Assessment => {
    const base = inspected({});
    const outcome = base.ok
      ? { ok: true as const, inspection: { ...base.inspection, certificate: { state: "present" as const, der: der(pem), location: "/etc/xrdp/cert.pem" } } }
      : base;
    const probe = presentedBy(null);
    return assess(
      outcome,
      {
        ...probe,
        confirm: { type: "response", flags: 0, selectedProtocol: 1 },
        certificate: describeCertificate(der(pem)),
        certificateDer: der(pem),
        tls: { version: "TLSv1.3", cipher: "x" },
      },
      DEFAULT_POLICY,
      now,
    );
  };

  it("a certificate 10 days from its end is replaced; a fresh one is healthy; a future one only when rdpcert made it", () => {
    expect(replacementVerdict(judged(certValid(-170, 10).certPem), stranger)).toMatchObject({ kind: "replace", trigger: { code: "expiring" } });
    expect(replacementVerdict(judged(certValid(-1, 179).certPem), stranger).kind).toBe("healthy");
    const future = judged(certValid(2, 170).certPem);
    expect(replacementVerdict(future, stranger).kind).toBe("blocked");
    expect(replacementVerdict(future, own).kind).toBe("replace");
  });
});
