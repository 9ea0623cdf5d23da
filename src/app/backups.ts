import type { Config } from "../core/config";
import { type BackupSummary, StateDir } from "../hosts/local/state-dir";
import { type RestoreResult, restoreBackupById } from "../rotation/rotate";
import { openSession } from "./session";

/** `rdpcert backups list`: the state dir the configuration names. */
export function listBackups(config: Config): readonly BackupSummary[] {
  return new StateDir(config.stateDir).listBackups();
}

/** `rdpcert backups restore ID`: under the rotation lock, the current files backed up first, then verified on the wire. */
export async function restoreBackup(config: Config, id: string): Promise<RestoreResult | { readonly outcome: "refused"; readonly reason: string; readonly fix: string | null }> {
  const session = await openSession(config, { reason: `restore backup ${id}` });
  if (!session.ok) return { outcome: "refused", reason: session.reason, fix: session.fix };
  return restoreBackupById(session.ctx, session.settings, id);
}
