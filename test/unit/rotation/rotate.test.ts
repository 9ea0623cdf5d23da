import { X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY } from "../../../src/core/policy";
import type { BackupSet, HostBackend, Replacement, RotationSteps } from "../../../src/hosts/host-backend";
import { StateDir } from "../../../src/hosts/local/state-dir";
import type { ProbeError } from "../../../src/probe/probe-error";
import type { Prober } from "../../../src/probe/prober";
import { type FaultPoint, type RotationContext, type RotationSettings, recoverInterrupted, rotate } from "../../../src/rotation/rotate";
import { certValid } from "../../helpers/certs";
import { inspected, presentedBy } from "../../helpers/fakes";

/**
 * The rotation state machine with every port faked but the state dir (real
 * files in a temp dir): a listener that serves whatever its files hold on the
 * next handshake (as xrdp does), and a fault switch for every step. Fast,
 * and each case names the step that fails.
 */

const thumb = (pem: string): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");

type Step = "collectBackup" | "replace" | "restart" | "restore";

class FakeListener {
  /** What the configured files hold. */
  configured: string;
  /** What the listener presents; null: follows `configured` on every handshake. */
  stuckOn: string | null = null;
  down: ProbeError | null = null;
  /** What the backend's confirm() says after the handshake showed the new certificate; null: no objection. */
  confirmProblem: string | null = null;
  /** What the backend's config test says about the pair as written; null: it loads. */
  configProblem: string | null = null;
  readonly calls: Step[] = [];
  readonly failing = new Set<Step>();
  private generated = 0;

  constructor(pem: string) {
    this.configured = pem;
  }

  presented(): string {
    return this.stuckOn ?? this.configured;
  }

  readonly prober: Prober = async () => (this.down ? presentedBy(null, this.down) : presentedBy(this.presented()));

  private step<T>(name: Step, run: () => T): { ok: true; value: T } | { ok: false; reason: string } {
    this.calls.push(name);
    if (this.failing.has(name)) return { ok: false, reason: `${name} failed (planted)` };
    return { ok: true, value: run() };
  }

  backend(): HostBackend {
    const steps: RotationSteps = {
      describe: () => ["back up", "write the new pair"],
      collectBackup: async () =>
        this.step("collectBackup", (): BackupSet => ({
          backend: "xrdp",
          thumbprint: thumb(this.configured),
          items: [{ role: "certificate", originalPath: "/etc/xrdp/cert.pem", data: Buffer.from(this.configured), mode: 0o644, uid: 0, gid: 0, wasLink: false }],
        })),
      replace: async (_inspection, _replacement: Replacement) =>
        this.step("replace", () => {
          this.generated++;
          this.configured = certValid(-1, 179, `new-${this.generated}`).certPem;
          return { thumbprint: thumb(this.configured), written: ["/etc/xrdp/cert.pem"] };
        }),
      restart: async () => this.step("restart", () => ({ command: null })),
      confirm: async () => this.confirmProblem,
      configTest: async () =>
        this.configProblem ? { ok: false as const, reason: this.configProblem } : { ok: true as const, value: { checked: "the pair loads" } },
      restore: async (backup) =>
        this.step("restore", () => {
          this.configured = backup.items[0]!.data.toString();
          return { restored: ["/etc/xrdp/cert.pem"] };
        }),
    };
    return {
      kind: "xrdp",
      capability: async () => ({ available: true }),
      inspect: async () => inspected({}, this.configured),
      rotation: steps,
    };
  }
}

const settings = (over: Partial<RotationSettings> = {}): RotationSettings => ({
  spec: { keyBits: 2048, validityDays: 180, names: ["host01"] },
  restart: { enabled: true, command: null, timeoutMs: 1000 },
  verifyTimeoutMs: 300,
  probeTimeoutMs: 100,
  policy: DEFAULT_POLICY,
  keepBackups: 5,
  force: false,
  reason: null,
  ...over,
});

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-sm-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function contextFor(listener: FakeListener, faultAt: FaultPoint | null = null): RotationContext & { logged: string[]; store: StateDir } {
  const logged: string[] = [];
  return {
    backend: listener.backend(),
    store: new StateDir(join(dir, "state")),
    prober: listener.prober,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
    fault: (point) => {
      if (point === faultAt) throw new Error(`killed at ${point}`);
    },
    log: (level, message) => logged.push(`${level}: ${message}`),
    logged,
  };
}

const backups = (): string[] => {
  try {
    return readdirSync(join(dir, "state", "backups"));
  } catch {
    return [];
  }
};

describe("rotate(): the swap", () => {
  it("an expiring certificate: backed up, replaced, the new one verified on the wire, the journal closed into the history", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    const ctx = contextFor(listener);
    const result = await rotate(ctx, settings(), { dryRun: false });
    expect([result.outcome, result.oldThumbprint]).toEqual(["rotated", thumb(old)]);
    expect(result.newThumbprint).toBe(thumb(listener.presented()));
    expect(result.newThumbprint).not.toBe(thumb(old));
    expect(listener.calls.slice(0, 2)).toEqual(["collectBackup", "replace"]);
    expect(listener.calls).not.toContain("restore");
    expect(result.steps.map((s) => s.step)).toContain("verify");
    expect(ctx.store.readJournal()).toBeNull();
    expect(ctx.store.history().at(-1)).toMatchObject({ outcome: "rotated", oldThumbprint: thumb(old), newThumbprint: result.newThumbprint });
    expect(ctx.store.loadBackup(result.backupId!)!.thumbprint).toBe(thumb(old));
  });

  it("a healthy certificate: not-needed, and no step runs", async () => {
    const listener = new FakeListener(certValid(-10, 170).certPem);
    const result = await rotate(contextFor(listener), settings(), { dryRun: false });
    expect(result.outcome).toBe("not-needed");
    expect(listener.calls).toEqual([]);
    expect(backups()).toEqual([]);
  });

  it("--dry-run: planned with the plan, nothing touched, not even the lock or the journal", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    const ctx = contextFor(listener);
    const result = await rotate(ctx, settings(), { dryRun: true });
    expect(result.outcome).toBe("planned");
    expect(result.plan).toEqual(expect.arrayContaining(["back up", "write the new pair"]));
    expect([listener.calls, listener.configured]).toEqual([[], old]);
    expect(ctx.store.readJournal()).toBeNull();
  });

  it("a lock held by a live process: busy, and no step runs", async () => {
    const listener = new FakeListener(certValid(-170, 10).certPem);
    const ctx = contextFor(listener);
    const held = ctx.store.lock();
    if (!held.ok) throw new Error("could not take the lock for the test");
    try {
      const result = await rotate(ctx, settings(), { dryRun: false });
      expect(result.outcome).toBe("busy");
      expect(result.heldBy?.pid).toBe(process.pid);
      expect(listener.calls).toEqual([]);
    } finally {
      held.release();
    }
  });

  it("a listener that is down: refused, since a new certificate could not be verified", async () => {
    const listener = new FakeListener(certValid(-200, -3).certPem);
    listener.down = { kind: "connect-refused", message: "connection refused" };
    const result = await rotate(contextFor(listener), settings(), { dryRun: false });
    expect(result.outcome).toBe("refused");
    expect(result.reason).toMatch(/the listener is down/);
    expect(listener.calls).toEqual([]);
  });

  it("the backup fails: nothing is replaced, the journal closes as not started", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.failing.add("collectBackup");
    const ctx = contextFor(listener);
    const result = await rotate(ctx, settings(), { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/^nothing was changed: collectBackup failed/);
    expect(listener.calls).toEqual(["collectBackup"]);
    expect(listener.configured).toBe(old);
    expect(ctx.store.readJournal()).toBeNull();
    expect(ctx.store.history().at(-1)).toMatchObject({ outcome: "not-started" });
  });

  it("the replacement fails: the backup is restored and the old certificate verified again", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.failing.add("replace");
    const result = await rotate(contextFor(listener), settings(), { dryRun: false });
    expect([result.outcome, result.reason]).toEqual(["rolled-back", "replace failed (planted)"]);
    expect(listener.calls).toContain("restore");
    expect(listener.presented()).toBe(old);
    expect(result.steps.map((s) => s.step)).toContain("verify-old");
  });

  it("the listener keeps presenting the old certificate: verification fails, the rollback restores, and the old one is verified", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.stuckOn = old;
    const result = await rotate(contextFor(listener), settings(), { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/^verification failed: the listener still presents the old certificate/);
    expect(listener.calls).toContain("restore");
    expect(listener.configured).toBe(old);
  });

  it("the restore fails too: rollback-failed, with the backup to restore by hand", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.stuckOn = old;
    listener.failing.add("restore");
    const ctx = contextFor(listener);
    const result = await rotate(ctx, settings(), { dryRun: false });
    expect(result.outcome).toBe("rollback-failed");
    expect(result.fix).toBe(`restore by hand: rdpcert backups restore ${result.backupId} (files in ${result.backupPath})`);
    expect(ctx.logged.some((l) => l.startsWith("error: ROLLBACK FAILED"))).toBe(true);
    expect(ctx.store.history().at(-1)).toMatchObject({ outcome: "rollback-failed" });
  });
});

describe("swap(): each phase's failure policy", () => {
  const stepsOf = (r: { steps: readonly { step: string; ok: boolean }[] }) => r.steps.map((s) => `${s.step}:${s.ok ? "ok" : "failed"}`);

  it("a clean swap runs the phases in order: backup, replace, restart, verify", async () => {
    const listener = new FakeListener(certValid(-170, 10).certPem);
    const result = await rotate(contextFor(listener), settings(), { dryRun: false });
    expect(stepsOf(result)).toEqual(["backup:ok", "replace:ok", "config-test:ok", "restart:ok", "verify:ok"]);
    expect(listener.calls).toEqual(["collectBackup", "replace", "restart"]);
  });

  it("the replace fails (before the restart): the files are recovered from the backup and the old state verified", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.failing.add("replace");
    const ctx = contextFor(listener);
    const result = await rotate(ctx, settings(), { dryRun: false });
    expect(stepsOf(result)).toEqual(["backup:ok", "replace:failed", "restore:ok", "restart:ok", "verify-old:ok"]);
    expect([result.outcome, result.newThumbprint]).toEqual(["rolled-back", null]);
    expect(ctx.store.history().at(-1)).toMatchObject({ outcome: "rolled-back", reason: "replace failed (planted)" });
  });

  it("the config test fails (before the restart): the files are recovered, and the listener is never restarted onto the new pair", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.configProblem = "the key does not match the certificate";
    let restartedOnto: string | null = null;
    const backend = listener.backend();
    const steps = backend.rotation!;
    const ctx = {
      ...contextFor(listener),
      backend: {
        ...backend,
        rotation: {
          ...steps,
          restart: async (...args: Parameters<RotationSteps["restart"]>) => ((restartedOnto ??= listener.configured), steps.restart(...args)),
        },
      },
    };
    const result = await rotate(ctx, settings(), { dryRun: false });
    expect([result.outcome, result.reason]).toEqual(["rolled-back", "config test failed: the key does not match the certificate"]);
    expect(stepsOf(result)).toEqual(["backup:ok", "replace:ok", "config-test:failed", "restore:ok", "restart:ok", "verify-old:ok"]);
    // The only restart is the rollback's, onto the restored old pair.
    expect(restartedOnto).toBe(old);
    expect(listener.presented()).toBe(old);
  });

  it("the restart fails (after the change): rolled back, restarted, and the old certificate verified on the wire", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    let restarts = 0;
    const backend = listener.backend();
    const steps = backend.rotation!;
    // Only the swap's restart fails; the rollback's restart works.
    const ctx = {
      ...contextFor(listener),
      backend: {
        ...backend,
        rotation: {
          ...steps,
          restart: async (...args: Parameters<RotationSteps["restart"]>) =>
            ++restarts === 1 ? { ok: false as const, reason: "restart failed (planted)" } : steps.restart(...args),
        },
      },
    };
    const result = await rotate(ctx, settings(), { dryRun: false });
    expect([result.outcome, result.reason]).toEqual(["rolled-back", "restart failed (planted)"]);
    expect(stepsOf(result)).toEqual(["backup:ok", "replace:ok", "config-test:ok", "restart:failed", "restore:ok", "restart:ok", "verify-old:ok"]);
    expect(result.newThumbprint).not.toBeNull();
    expect(listener.presented()).toBe(old);
  });

  it("the backend's confirm() objects after the handshake: rolled back, and the reason is the backend's", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.confirmProblem = "event 1057: the listener fell back to its own certificate";
    const result = await rotate(contextFor(listener), settings(), { dryRun: false });
    expect([result.outcome, result.reason]).toEqual(["rolled-back", "verification failed: event 1057: the listener fell back to its own certificate"]);
    expect(listener.calls).toEqual(["collectBackup", "replace", "restart", "restore", "restart"]);
    expect(listener.presented()).toBe(old);
  });

  it("a journal that cannot be written before any change ends the swap: nothing replaced, the lock released", async () => {
    const listener = new FakeListener(certValid(-170, 10).certPem);
    const ctx = contextFor(listener);
    const store = ctx.store;
    const broken = Object.assign(Object.create(store) as StateDir, {
      writeJournal: () => {
        throw Object.assign(new Error("no space"), { code: "ENOSPC" });
      },
    });
    await expect(rotate({ ...ctx, store: broken }, settings(), { dryRun: false })).rejects.toThrow("no space");
    expect(listener.calls).toEqual([]);
    expect((await rotate(contextFor(listener), settings(), { dryRun: false })).outcome).toBe("rotated");
  });

  it("a state dir that turns unwritable after the change does not skip the verification: rotated, said once, the journal left open", async () => {
    const listener = new FakeListener(certValid(-170, 10).certPem);
    const ctx = contextFor(listener);
    const store = ctx.store;
    let full = false;
    const failing = () => {
      throw Object.assign(new Error("no space"), { code: "ENOSPC" });
    };
    const flaky = Object.assign(Object.create(store) as StateDir, {
      writeJournal: (j: Parameters<StateDir["writeJournal"]>[0]) => {
        if (full) failing();
        store.writeJournal(j);
        if (j.step === "replaced") full = true;
      },
      closeJournal: (...args: Parameters<StateDir["closeJournal"]>) => (full ? failing() : store.closeJournal(...args)),
    });
    const result = await rotate({ ...ctx, store: flaky }, settings(), { dryRun: false });
    expect(result.outcome).toBe("rotated");
    expect(stepsOf(result)).toEqual(["backup:ok", "replace:ok", "config-test:ok", "restart:ok", "verify:ok"]);
    expect(ctx.logged.filter((l) => l.includes("in the state dir (ENOSPC)"))).toHaveLength(1);
    // The journal on disk stays at its last step: the next run or status checks what the listener presents.
    expect(store.readJournal()?.step).toBe("replaced");
  });
});

describe("an interrupted rotation and its recovery", () => {
  /** Kills the rotation at `point` (the test's stand-in for kill -9), then recovers as the next run would. */
  async function killedAt(point: FaultPoint, listener: FakeListener) {
    const ctx = contextFor(listener, point);
    await expect(rotate(ctx, settings(), { dryRun: false })).rejects.toThrow(`killed at ${point}`);
    const journal = ctx.store.readJournal();
    const recovered = await recoverInterrupted(contextFor(listener), settings());
    return { journal, recovered, after: contextFor(listener).store.readJournal() };
  }

  it("killed right after the lock: no journal, nothing to recover", async () => {
    const listener = new FakeListener(certValid(-170, 10).certPem);
    const { journal, recovered } = await killedAt("after-lock", listener);
    expect([journal, recovered]).toEqual([null, null]);
  });

  it.each<FaultPoint>(["after-journal", "after-backup"])("killed %s, before any change: abandoned, the old pair untouched", async (point) => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    const { journal, recovered, after } = await killedAt(point, listener);
    expect(journal?.step).toBe(point === "after-journal" ? "started" : "backed-up");
    expect(recovered?.outcome).toBe("abandoned");
    expect([listener.configured, after]).toEqual([old, null]);
    expect(listener.calls).not.toContain("restore");
  });

  it.each<FaultPoint>(["after-replace", "after-restart", "before-verify"])(
    "killed %s with the new certificate served: completed, the new one kept",
    async (point) => {
      const old = certValid(-170, 10).certPem;
      const listener = new FakeListener(old);
      const { journal, recovered, after } = await killedAt(point, listener);
      expect(journal?.newThumbprint).toBe(thumb(listener.configured));
      expect(recovered?.outcome).toBe("completed");
      expect(listener.presented()).not.toBe(old);
      expect(listener.calls).not.toContain("restore");
      expect(after).toBeNull();
    },
  );

  it("killed after the replacement while the listener still serves the old one: the backup is restored and verified", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.stuckOn = old;
    const { recovered } = await killedAt("after-replace", listener);
    expect(recovered?.outcome).toBe("rolled-back");
    expect(listener.calls).toContain("restore");
    expect(listener.configured).toBe(old);
  });

  it("killed during a rollback (after-restore): the recovery restores again and verifies the old state", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.stuckOn = old;
    listener.failing.add("restart");
    const { journal, recovered } = await killedAt("after-restore", listener);
    expect(journal?.step).toBe("restoring");
    expect(recovered?.outcome).toBe("rolled-back");
    expect(listener.calls.filter((c) => c === "restore")).toHaveLength(2);
    expect(listener.configured).toBe(old);
  });

  it("a journal whose backup cannot be read: rollback-failed, said so, and the journal closed", async () => {
    const old = certValid(-170, 10).certPem;
    const listener = new FakeListener(old);
    listener.stuckOn = old;
    const ctx = contextFor(listener, "after-replace");
    await expect(rotate(ctx, settings(), { dryRun: false })).rejects.toThrow();
    rmSync(join(dir, "state", "backups"), { recursive: true, force: true });
    const recovered = await recoverInterrupted(contextFor(listener), settings());
    expect(recovered?.outcome).toBe("rollback-failed");
    expect(recovered?.reason).toMatch(/cannot be read; restore by hand/);
    expect(contextFor(listener).store.readJournal()).toBeNull();
  });
});
