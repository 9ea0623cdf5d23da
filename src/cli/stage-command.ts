import type { Session } from "../app/session";
import type { RotationResult } from "../rotation/rotate";
import { confirmPlan } from "./confirm";
import { ExitCode } from "./exit-codes";

/**
 * `rotate --stage` and `rotate --activate` (docs/hooks-and-staging.md): the CLI side.
 * An activation is a rotation result like any other (`write`: rotate's output, the
 * pin bundle and the post-change hook), with the staged pair's facts beside it.
 */
export async function stageCommand(
  session: Extract<Session, { ok: true }>,
  what: "stage" | "activate",
  options: {
    readonly dryRun: boolean;
    readonly json: boolean;
    readonly force: boolean;
    readonly yes: boolean;
    readonly write: (result: RotationResult, extra?: object) => Promise<number>;
  },
): Promise<number> {
  const app = await import("../app/stage");
  const { jsonText, terminalText } = await import("../core/terminal-safe");
  const refuse = (reason: string, fix: string | null, extra: object = {}): number => {
    process.stdout.write(
      options.json
        ? `${jsonText({ schema: "rdpcert.rotate/v1", generatedAt: new Date().toISOString(), dryRun: options.dryRun, outcome: "refused", exitCode: ExitCode.UNKNOWN, reason, fix, ...extra }, 2)}\n`
        : terminalText(`refused  ${reason}\n${fix ? `  fix: ${fix}\n` : ""}`),
    );
    return ExitCode.UNKNOWN;
  };
  if (what === "stage") {
    const { renderStageText, stageExitCode } = await import("./render/stage-render");
    const result = await app.stagePair(session, { dryRun: options.dryRun, force: options.force });
    const code = stageExitCode(result);
    process.stdout.write(
      options.json
        ? `${jsonText({ schema: "rdpcert.rotate/v1", generatedAt: new Date().toISOString(), dryRun: options.dryRun, exitCode: code, ...result }, 2)}\n`
        : terminalText(renderStageText(result, options.dryRun)),
    );
    return code;
  }
  if (!options.dryRun && !options.yes) {
    const planned = await app.activateStaged(session, { dryRun: true, force: options.force });
    if (planned.kind === "refused") return refuse(planned.reason, planned.fix);
    if (planned.result.outcome !== "planned") return options.write(planned.result, { staged: planned.staged });
    if (!(await confirmPlan(planned.result.plan, `Activate the staged pair (SHA-256 ${planned.staged.sha256}) now?`, terminalText))) {
      process.stderr.write("rdpcert: nothing changed\n");
      return ExitCode.OK;
    }
  }
  const activated = await app.activateStaged(session, { dryRun: options.dryRun, force: options.force, publish: true });
  if (activated.kind === "refused") return refuse(activated.reason, activated.fix);
  return options.write(activated.result, { staged: activated.staged });
}
