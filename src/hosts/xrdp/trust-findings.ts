import { type Stats, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { HostFinding } from "../host-backend";

/**
 * Who else can change what xrdp serves: an xrdp.ini, or a
 * directory holding the certificate or key, that every user can write or
 * that a user other than root (or xrdp's own user) owns is a warning with its
 * fix. A world-writable directory with the sticky bit still lets anyone add
 * files, so it is reported too.
 */
export function trustFindings(iniPath: string, certPath: string, keyPath: string, serverUid: number | null): HostFinding[] {
  const findings: HostFinding[] = [];
  const owners = new Set([0, process.geteuid?.() ?? 0, ...(serverUid === null ? [] : [serverUid])]);
  const look = (path: string, what: string, code: string, chmod: string): void => {
    let real: string;
    let stats: Stats;
    try {
      real = realpathSync(path);
      stats = statSync(real);
    } catch {
      return; // Missing files and directories are reported elsewhere.
    }
    const mode = (stats.mode & 0o7777).toString(8).padStart(4, "0");
    if ((stats.mode & 0o002) !== 0) {
      findings.push({
        severity: "warn",
        code: `${code}-world-writable`,
        message: `${what} ${real} is writable by every user (mode ${mode}): anyone can change what xrdp serves`,
        fix: `chmod ${chmod} ${real}`,
      });
    } else if (!owners.has(stats.uid)) {
      findings.push({
        severity: "warn",
        code: `${code}-foreign-owner`,
        message: `${what} ${real} is owned by uid ${stats.uid}, not root: that user can change what xrdp serves`,
        fix: `chown root ${real}`,
      });
    }
  };
  look(iniPath, "the xrdp configuration", "ini", "o-w");
  const certDir = dirname(safeReal(certPath));
  const keyDir = dirname(safeReal(keyPath));
  look(certDir, "the certificate's directory", "cert-dir", "o-w");
  if (keyDir !== certDir) look(keyDir, "the key's directory", "key-dir", "o-w");
  return findings;
}

function safeReal(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
