import { X509Certificate } from "node:crypto";
import type { InspectOutcome } from "../../../../src/hosts/host-backend";
import { createXrdpRotation } from "../../../../src/hosts/xrdp/xrdp-rotation";
import { certValid } from "../../../helpers/certs";
import { inspected } from "../../../helpers/fakes";

/**
 * xrdp's config test before any restart (certbot's config_test): the configuration read back
 * as xrdp will read it must name the certificate just written and a key that matches it.
 * The inspection is the backend's own (faked here: its real reads are tested in e2e).
 */
const written = certValid(-1, 179, "written");
const thumb = new X509Certificate(written.certPem).fingerprint.replace(/:/g, "");
const replacement = { kind: "self-signed" as const, spec: { keyBits: 2048 as const, validityDays: 180, names: ["h"] } };

function testWith(outcome: InspectOutcome) {
  const steps = createXrdpRotation({
    runner: async () => ({ exitCode: 0, stdout: "", stderr: "" }) as never,
    runtimeUser: () => ({ user: null, group: null }) as never,
    inspect: async () => outcome,
  });
  const base = inspected({}, written.certPem);
  if (!base.ok) throw new Error("fixture");
  return steps.configTest(base.inspection, replacement, thumb);
}

describe("xrdp configTest", () => {
  it("passes when the ini names the certificate just written and a key that matches it", async () => {
    expect(await testWith(inspected({}, written.certPem))).toMatchObject({ ok: true, value: { checked: expect.stringContaining(thumb) } });
  });

  it("fails when the configured certificate is another one than was written", async () => {
    const other = certValid(-1, 179, "other").certPem;
    expect(await testWith(inspected({}, other))).toMatchObject({ ok: false, reason: expect.stringContaining(`not the ${thumb} just written`) });
  });

  it.each(["mismatch", "not-a-key", "missing", "corrupt"] as const)("fails when the key is %s, with the inspection's reason", async (state) => {
    const outcome = inspected({ key: { state, location: "/etc/xrdp/key.pem", reason: `the key is ${state} (from the inspection)` } }, written.certPem);
    expect(await testWith(outcome)).toEqual({ ok: false, reason: `the key is ${state} (from the inspection)` });
  });

  it("leaves a key only judged unreadable to the handshake (whose access it is comes from a model)", async () => {
    const outcome = inspected({ key: { state: "unreadable", location: "/etc/xrdp/key.pem", reason: "xrdp cannot read its private key" } }, written.certPem);
    expect((await testWith(outcome)).ok).toBe(true);
  });

  it("fails when the configuration cannot be read back, or names no readable certificate", async () => {
    expect(await testWith({ ok: false, reason: "cannot read /etc/xrdp/xrdp.ini: EACCES", fix: "run as root" } as InspectOutcome)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("cannot read the configuration back"),
    });
    const missing = inspected({ certificate: { state: "missing", location: "/etc/xrdp/cert.pem", reason: "gone" } as never }, written.certPem);
    expect(await testWith(missing)).toMatchObject({ ok: false, reason: expect.stringContaining("does not hold a readable certificate") });
  });
});
