/**
 * Windows programs by absolute path. Windows searches the current directory
 * before PATH for a bare executable name, so `icacls` run from a directory
 * where someone dropped an icacls.exe would run that one. A 32-bit process on
 * 64-bit Windows (PROCESSOR_ARCHITEW6432 set) sees SysWOW64 through System32:
 * Sysnative reaches the real System32. Pure: the environment is passed in.
 */
export function systemRoot(env: NodeJS.ProcessEnv = process.env): string {
  return (env.SystemRoot ?? env.windir ?? "C:\\Windows").replace(/\\+$/, "");
}

/** `%SystemRoot%\System32\<relative>` (or Sysnative from a 32-bit process on 64-bit Windows). */
export function systemExecutable(relative: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${systemRoot(env)}\\${env.PROCESSOR_ARCHITEW6432 ? "Sysnative" : "System32"}\\${relative}`;
}

export const SCHTASKS = (env: NodeJS.ProcessEnv = process.env): string => systemExecutable("schtasks.exe", env);
export const ICACLS = (env: NodeJS.ProcessEnv = process.env): string => systemExecutable("icacls.exe", env);
export const WINDOWS_POWERSHELL = (env: NodeJS.ProcessEnv = process.env): string => systemExecutable("WindowsPowerShell\\v1.0\\powershell.exe", env);
