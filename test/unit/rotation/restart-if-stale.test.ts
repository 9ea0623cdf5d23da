import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY } from "../../../src/core/policy";
import type { HostBackend, RestartSpec, RotationSteps } from "../../../src/hosts/host-backend";
import { StateDir } from "../../../src/hosts/local/state-dir";
import { type RotationContext, type RotationSettings, rotate } from "../../../src/rotation/rotate";
import { certValid } from "../../helpers/certs";
import { inspected, presentedBy } from "../../helpers/fakes";

/**
 * `restartCommand: "auto"` on xrdp restarts nothing, and runs its restart only when the
 * first handshake after the change still presents the old certificate. Real xrdp always re-reads
 * its pair (test/e2e/restart-xrdp.test.ts), so a server that does not is modelled here: the files
 * change on `replace`, and what the listener serves changes on `replace` (re-reads) or only on a
 * restart (does not). The state dir is real.
 */
const oldPair = certValid(-170, 10, "old");
const newPair = certValid(-1, 179, "new");

function world(reReads: boolean) {
  let configured = oldPair.certPem;
  let served = oldPair.certPem;
  const restarts: (readonly string[] | null)[] = [];
  const steps: RotationSteps = {
    describe: () => [],
    collectBackup: async () => ({ ok: true, value: { backend: "xrdp", thumbprint: null, items: [] } }),
    replace: async () => {
      configured = newPair.certPem;
      if (reReads) served = configured;
      return { ok: true, value: { thumbprint: presentedBy(newPair.certPem).certificate!.thumbprint, written: ["/etc/xrdp/cert.pem"] } };
    },
    restart: async (spec: RestartSpec) => {
      restarts.push(spec.command);
      if (spec.command) served = configured;
      return { ok: true, value: { command: spec.command ? spec.command.join(" ") : null } };
    },
    restore: async () => ({ ok: true, value: { restored: [] } }),
  };
  const backend: HostBackend = { kind: "xrdp", capability: async () => ({ available: true }), inspect: async () => inspected({}, configured), rotation: steps };
  return { backend, restarts, served: () => served };
}

describe("restartCommand auto: restart only when the old certificate is still presented (issue 23)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-stale-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(reReads: boolean) {
    const { backend, restarts, served } = world(reReads);
    const logged: string[] = [];
    const ctx: RotationContext = {
      backend,
      store: new StateDir(join(dir, "state")),
      prober: async () => presentedBy(served()),
      now: () => new Date(),
      sleep: async () => undefined,
      fault: () => undefined,
      log: (level, message) => logged.push(`${level}: ${message}`),
    };
    const settings: RotationSettings = {
      spec: { keyBits: 2048, validityDays: 180, names: [] },
      restart: { enabled: true, command: null, ifStale: ["systemctl", "restart", "xrdp"], timeoutMs: 1000 },
      verifyTimeoutMs: 2000,
      probeTimeoutMs: 1000,
      policy: DEFAULT_POLICY,
      keepBackups: 5,
      force: false,
      reason: null,
    };
    return { result: rotate(ctx, settings, { dryRun: false }), restarts, logged };
  }

  it("a server that re-reads its pair (xrdp): no restart at all", async () => {
    const { result, restarts, logged } = run(true);
    const done = await result;
    expect(done.outcome).toBe("rotated");
    expect(restarts).toEqual([null]);
    expect(done.steps.filter((s) => s.step === "restart").map((s) => s.detail)).toEqual(["no restart"]);
    expect(logged.join("\n")).not.toMatch(/restarting/);
  });

  it("a server that still presents the old certificate after the change: restarted once, and said so in the steps and the log", async () => {
    const { result, restarts, logged } = run(false);
    const done = await result;
    expect(done.outcome).toBe("rotated");
    expect(restarts).toEqual([null, ["systemctl", "restart", "xrdp"]]);
    const old = presentedBy(oldPair.certPem).certificate!.thumbprint;
    expect(done.steps.filter((s) => s.step === "restart").map((s) => s.detail)).toEqual([
      "no restart",
      `the listener still presented ${old} after the change: systemctl restart xrdp`,
    ]);
    expect(logged).toContainEqual(
      `warn: the listener still presents ${old} after the change (it does not re-read its pair): restarting it with systemctl restart xrdp, which ends connected sessions`,
    );
  });
});
