import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectStatus } from "../../../src/app/status";
import type { Config } from "../../../src/core/config";
import { configDefaults } from "../../../src/core/config-defaults";
import type { HostBackend, InspectHooks } from "../../../src/hosts/host-backend";
import { createXrdpBackend } from "../../../src/hosts/xrdp/xrdp-backend";
import type { Prober } from "../../../src/probe/prober";
import { certValid } from "../../helpers/certs";
import { inspected, presentedBy } from "../../helpers/fakes";

/**
 * `status` probes the wire while the inspection goes on: the backend says
 * the listener's endpoint as soon as its configuration names it, and the
 * probe of that endpoint is the one judged, unless the inspection ends with
 * another listener.
 */
describe("collectStatus: the probe starts when the listener is known", () => {
  const pair = certValid(-10, 170, "early-probe");
  let dir: string;
  let config: Config;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-early-probe-"));
    config = { ...configDefaults(), stateDir: join(dir, "state") } as Config;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A backend whose inspection calls `before(hooks)` and then finishes with a listener on `finalPort`. */
  function backend(finalPort: number, before: (hooks: InspectHooks) => Promise<void>): HostBackend {
    return {
      kind: "xrdp",
      capability: async () => ({ available: true }),
      inspect: async (hooks = {}) => {
        await before(hooks);
        return inspected({ listener: { address: "127.0.0.1", port: finalPort, securityLayer: "negotiate", nla: null } }, pair.certPem);
      },
    };
  }

  function recordingProber(events: string[]): { prober: Prober; called: Promise<void> } {
    let calledResolve: () => void = () => undefined;
    const called = new Promise<void>((resolve) => (calledResolve = resolve));
    const prober: Prober = async (target) => {
      events.push(`probe ${target.input}`);
      calledResolve();
      return { ...presentedBy(pair.certPem), target };
    };
    return { prober, called };
  }

  it("an inspection that waits for the probe to start still ends: the probe of the announced endpoint ran during it, once, and is the one judged", async () => {
    const events: string[] = [];
    const { prober, called } = recordingProber(events);
    const inspecting = backend(3390, async (hooks) => {
      hooks.listenerKnown?.({ address: "127.0.0.1", port: 3390 });
      events.push("inspection goes on");
      await called; // would never resolve if status probed only after the inspection
      events.push("inspection ends");
    });
    const report = await collectStatus(config, { backend: inspecting, prober, recover: false });
    expect(events).toEqual(["probe 127.0.0.1:3390", "inspection goes on", "inspection ends"]);
    expect(report.presented?.target.input).toBe("127.0.0.1:3390");
    expect(report.assessment.health).toBe("ok");
  });

  it("the inspection ends with another listener than it announced: that listener is probed and judged, not the announced one", async () => {
    const events: string[] = [];
    const { prober } = recordingProber(events);
    const moved = backend(3391, async (hooks) => hooks.listenerKnown?.({ address: "127.0.0.1", port: 3390 }));
    const report = await collectStatus(config, { backend: moved, prober, recover: false });
    expect(events).toEqual(["probe 127.0.0.1:3390", "probe 127.0.0.1:3391"]);
    expect(report.presented?.target.input).toBe("127.0.0.1:3391");
  });

  it("a backend that announces nothing is probed after its inspection, as before", async () => {
    const events: string[] = [];
    const { prober } = recordingProber(events);
    const quiet = backend(3389, async () => {
      events.push("inspected");
    });
    const report = await collectStatus(config, { backend: quiet, prober, recover: false });
    expect(events).toEqual(["inspected", "probe 127.0.0.1:3389"]);
    expect(report.presented?.target.input).toBe("127.0.0.1:3389");
  });

  it("xrdp announces the endpoint of its [Globals] port before it looks for the process that serves it, and the probe goes there", async () => {
    const events: string[] = [];
    const { prober } = recordingProber(events);
    writeFileSync(join(dir, "cert.pem"), pair.certPem);
    writeFileSync(join(dir, "key.pem"), pair.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, "xrdp.ini"), `[Globals]\nport=tcp://127.0.0.1:3392\ncertificate=${join(dir, "cert.pem")}\nkey_file=${join(dir, "key.pem")}\n`);
    const xrdp = createXrdpBackend({
      iniPath: join(dir, "xrdp.ini"),
      findListener: () => {
        events.push("who serves");
        return { kind: "none" };
      },
    });
    const report = await collectStatus(config, { backend: xrdp, prober, recover: false });
    expect(events).toEqual(["probe 127.0.0.1:3392", "who serves"]);
    expect(report.presented?.target.input).toBe("127.0.0.1:3392");
  });
});
