import { probeReportJson, writeProbeReportJson } from "../../../../src/cli/render/probe-json";
import type { ProbeReport } from "../../../../src/cli/render/probe-json";
import { assessProbe } from "../../../../src/core/probe-verdict";
import { jsonText } from "../../../../src/core/terminal-safe";
import { certValid, certWithSubject } from "../../../helpers/certs";
import { presentedBy } from "../../../helpers/fakes";

const now = new Date();

function report(results: ProbeReport["results"], notes: readonly string[] = []): ProbeReport {
  return { results, verdicts: results.map((r) => assessProbe(r, now, 14)), health: "ok", now, warnDays: 14, criticalDays: 0, notes, exitCode: 0 };
}

const whole = (r: ProbeReport): string => `${jsonText({ ...probeReportJson(r), notes: r.notes }, 2)}\n`;

async function written(r: ProbeReport): Promise<{ text: string; pieces: number }> {
  const pieces: string[] = [];
  await writeProbeReportJson(r, async (text) => {
    pieces.push(text);
    await new Promise((resolve) => setImmediate(resolve));
  });
  return { text: pieces.join(""), pieces: pieces.length };
}

describe("writeProbeReportJson", () => {
  it("writes the bytes the whole report's jsonText would, escapes and notes included", async () => {
    const r = report(
      [
        presentedBy(certValid(-1, 179).certPem),
        presentedBy(certWithSubject('evil\u202etxt.exe "results": [] \n').certPem),
        presentedBy(null, { kind: "timeout", phase: "tls", message: "no answer" }),
      ],
      ["concurrency lowered to 2 \u009b"],
    );
    expect((await written(r)).text).toBe(whole(r));
  });

  it("writes one result, and a report without results, the same way too", async () => {
    for (const r of [report([presentedBy(certValid(-1, 179).certPem)]), report([])]) expect((await written(r)).text).toBe(whole(r));
  });

  it("writes a fleet's report in pieces, each taken before the next, never as one string", async () => {
    const one = presentedBy(certValid(-1, 179).certPem);
    const r = report(Array.from({ length: 300 }, () => one));
    const { text, pieces } = await written(r);
    expect(text).toBe(whole(r));
    expect(pieces).toBeGreaterThan(2);
  });
});
