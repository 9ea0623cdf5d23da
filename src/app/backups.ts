import type { Config } from "../core/config";
import { type BackupSummary, StateDir } from "../hosts/local/state-dir";
import { type RestoreResult, restoreBackupById } from "../rotation/rotate";
import { type SessionOptions, openSession } from "./session";

/** `rdpcert backups list`: the state dir the configuration names. */
export function listBackups(config: Config): readonly BackupSummary[] {
  return new StateDir(config.stateDir).listBackups();
}

export type RestoreOutcome =
  | RestoreResult
  | { readonly outcome: "refused"; readonly reason: string; readonly fix: string | null }
  /** Windows, inside an RDP session: the restore (which restarts Remote Desktop Services) runs as a SYSTEM task. */
  | { readonly outcome: "handed-off"; readonly reason: string; readonly task: string };

/**
 * `rdpcert backups restore ID`: under the rotation lock, the current files
 * backed up first, then verified on the wire. Inside an RDP session on
 * Windows it hands itself to a SYSTEM task, as `rotate` does.
 */
export async function restoreBackup(
  config: Config,
  id: string,
  options: { readonly inSession?: boolean; readonly listener?: string; readonly log?: SessionOptions["log"] } = {},
): Promise<RestoreOutcome> {
  const session = await openSession(config, {
    reason: `restore backup ${id}`,
    inSession: options.inSession,
    ...(options.listener ? { listener: options.listener } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  if (!session.ok) return { outcome: "refused", reason: session.reason, fix: session.fix };
  const why = session.ctx.backend.rotation?.mustHandOff?.() ?? null;
  if (why) {
    const { handOff } = await import("./hand-off");
    const handed = await handOff(config, ["backups", "restore", id], options.listener ? { listener: options.listener } : {});
    return handed.ok
      ? { outcome: "handed-off", reason: why, task: handed.task }
      : {
          outcome: "refused",
          reason: `${why}; handing the restore to a SYSTEM task failed: ${handed.reason}`,
          fix: "run rdpcert backups restore from outside the RDP session",
        };
  }
  return restoreBackupById(session.ctx, session.settings, id);
}
