import type { Command } from "commander";
import { isAbsolute } from "node:path";
import type { DeploySource } from "../../app/deploy";
import { type ChangeLog, type EffectiveConfig, confirmPlan, requireYesOffTerminal, runLoggedChange } from "../confirm";
import { ExitCode, UsageError } from "../exit-codes";
import {
  backendOption,
  listenerPortOption,
  configOption,
  jsonOption,
  listenerName,
  logDirOption,
  postHookOption,
  rotationOptions,
  stateDirOption,
  timeoutOption,
  warnDaysOption,
  withOptions,
  xrdpIniOption,
  grdOptions,
} from "../options";

interface DeployFlags {
  pfx?: string;
  pfxPasswordFile?: string;
  cert?: string;
  key?: string;
  chain?: string;
  thumbprint?: string;
  fromCertbot?: boolean;
  listener?: string;
  removeOld?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  reason?: string;
}

/** The generated-certificate options of rotate do not apply to a supplied certificate. */
const DEPLOY_ROTATION_OPTIONS = new Set(["--key-bits", "--validity-days"]);

/** `rdpcert deploy`: put a CA-issued certificate on the listener, verified on the wire, rolled back on failure. */
export function registerDeploy(program: Command): void {
  const deploy = program
    .command("deploy")
    .description("Put a CA-issued certificate on the listener: check it, back up, bind or write it, verify with a real handshake, roll back on failure.")
    .option(
      "--pfx <file>",
      "a PKCS#12 file with the certificate, its key and chain; the password comes from --pfx-password-file or standard input, never the command line",
    )
    .option("--pfx-password-file <file>", "the --pfx password (first line)")
    .option("--cert <pem>", "the certificate (PEM; it may carry the chain after it, as certbot's fullchain.pem does)")
    .option("--key <pem>", "the certificate's private key (PEM, unencrypted; keep it root-only)")
    .option("--chain <pem>", "intermediate certificates (PEM), when --cert holds the leaf only")
    .option("--thumbprint <sha1>", "Windows: a certificate already in LocalMachine\\My with its private key (win-acme's {CertThumbprint}, certreq -accept)")
    .option("--from-certbot", "read $RENEWED_LINEAGE (fullchain.pem, privkey.pem), as certbot sets it for a --deploy-hook")
    .option("--listener <name>", "Windows: the listener to bind (a WinStations key such as RDP-Tcp-Admin; default RDP-Tcp)", listenerName)
    .option("--remove-old", "after verification only: remove the previous certificate (Windows); never before, never on failure")
    .option("--reason <text>", "recorded in the journal and the backup")
    .option("--dry-run", "check the certificate, print the exact plan and change nothing")
    .option("--yes", "do not ask for confirmation (required without a terminal)");
  withOptions(deploy, [
    configOption(),
    backendOption(),
    listenerPortOption(),
    xrdpIniOption(),
    ...grdOptions(),
    stateDirOption(),
    logDirOption(),
    ...rotationOptions().filter((o) => !DEPLOY_ROTATION_OPTIONS.has(o.long ?? "")),
    postHookOption(),
    timeoutOption(),
    warnDaysOption(),
    jsonOption(),
  ])
    .addHelpText(
      "after",
      `
Give the certificate one way: --pfx, --cert with --key (and --chain), --thumbprint, or --from-certbot.
Before anything changes, rdpcert checks: the key belongs to the certificate; it is valid now; its
extended key usage allows Server Authentication or Remote Desktop Authentication; its key is
RSA 2048+ or EC P-256+; for xrdp, the chain reaches a CA (clients get only what xrdp is given).
A certificate without this host's names is deployed with a warning.

Examples:
  sudo rdpcert deploy --cert fullchain.pem --key privkey.pem --dry-run
  certbot renew --deploy-hook "rdpcert deploy --from-certbot --yes"
  sudo rdpcert deploy --backend gnome-remote-desktop --grd-user alice --cert fullchain.pem --key privkey.pem --yes
  rdpcert deploy --thumbprint {CertThumbprint} --yes              (win-acme script installation)
  Get-Content pass.txt | rdpcert deploy --pfx cert.pfx --yes       (Posh-ACME, PowerShell)

Outcomes: deployed, not-needed (the listener already presents it), planned (--dry-run), refused,
busy, rolled-back, rollback-failed.

Exit codes:
  0  deployed, already presented, or planned (--dry-run)
  1  deployed and verified (the new certificate stays), but the post-change hook failed
  2  rolled back (the previous certificate is in place again) or rollback failed
     (the output names the backup to restore with 'rdpcert backups restore ID')
  3  the certificate was refused (no byte changed), the listener cannot be changed here
     (down, another process serves it, a Group Policy binding), another rotation holds
     the lock, or bad usage; also a certbot lineage, or rdpcert/ beside the ini, that
     another user can write or that a directory above it lets them swap (trust rules)`,
    )
    .action(async (opts: DeployFlags, command: Command) => {
      process.exitCode = await runDeployCommand(opts, command);
    });
}

type SourceFlags = Exclude<DeploySource, { kind: "pfx" }> | { readonly kind: "pfx"; readonly path: string };

function sourceOf(opts: DeployFlags): SourceFlags {
  const given = [
    opts.pfx !== undefined && "--pfx",
    (opts.cert !== undefined || opts.key !== undefined) && "--cert/--key",
    opts.thumbprint !== undefined && "--thumbprint",
    opts.fromCertbot === true && "--from-certbot",
  ].filter(Boolean);
  if (given.length !== 1)
    throw new UsageError(
      given.length === 0
        ? "give the certificate: --pfx FILE, --cert PEM --key PEM, --thumbprint HASH, or --from-certbot"
        : `give the certificate one way only, not ${given.join(" and ")}`,
    );
  if (opts.chain !== undefined && opts.cert === undefined) throw new UsageError("--chain goes with --cert and --key");
  if (opts.pfxPasswordFile !== undefined && opts.pfx === undefined) throw new UsageError("--pfx-password-file goes with --pfx");
  if (opts.pfx !== undefined) return { kind: "pfx", path: opts.pfx };
  if (opts.cert !== undefined || opts.key !== undefined) {
    if (opts.cert === undefined || opts.key === undefined) throw new UsageError("--cert and --key go together");
    return { kind: "pem", cert: opts.cert, key: opts.key, chain: opts.chain ?? null };
  }
  if (opts.thumbprint !== undefined) {
    const hash = opts.thumbprint.replace(/[\s:]/g, "");
    if (!/^[0-9A-Fa-f]{40}$/.test(hash)) throw new UsageError(`--thumbprint ${JSON.stringify(opts.thumbprint)} is not a SHA-1 thumbprint (40 hex digits)`);
    return { kind: "thumbprint", thumbprint: hash.toUpperCase() };
  }
  const lineage = process.env.RENEWED_LINEAGE;
  if (!lineage) throw new UsageError("--from-certbot reads $RENEWED_LINEAGE, which certbot sets for a --deploy-hook: it is not set");
  if (!isAbsolute(lineage)) throw new UsageError("$RENEWED_LINEAGE is not an absolute path");
  return { kind: "certbot", lineage };
}

/** The PFX password: the first line of --pfx-password-file, or of standard input (a prompt without echo on a terminal). */
async function pfxPassword(file: string | undefined): Promise<string> {
  const firstLine = (text: string): string => text.split(/\r?\n/)[0] ?? "";
  if (file !== undefined) {
    const { readPasswordFile } = await import("../../app/deploy");
    try {
      return firstLine(readPasswordFile(file));
    } catch (error) {
      throw new UsageError(`cannot read --pfx-password-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (process.stdin.isTTY) return promptHidden("PFX password: ");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 65_536) throw new UsageError("the PFX password on standard input is longer than 64 KiB");
    chunks.push(chunk);
  }
  return firstLine(
    Buffer.concat(chunks)
      .toString("utf8")
      .replace(/^\uFEFF/, ""),
  );
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    let text = "";
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (data: Buffer): void => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003") return done(new UsageError("interrupted"));
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    const done = (error: Error | null): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(text);
    };
    stdin.on("data", onData);
  });
}

async function runDeployCommand(opts: DeployFlags, command: Command): Promise<number> {
  const dryRun = opts.dryRun === true;
  const json = opts.json === true;
  const partial = sourceOf(opts);
  requireYesOffTerminal({ dryRun, yes: opts.yes }, "deploy");
  const source: DeploySource = partial.kind === "pfx" ? { kind: "pfx", path: partial.path, password: await pfxPassword(opts.pfxPasswordFile) } : partial;
  return runLoggedChange(command, { dryRun, json }, (config, log) => deployWith(config, opts, source, log));
}

async function deployWith(config: EffectiveConfig, opts: DeployFlags, source: DeploySource, log: ChangeLog): Promise<number> {
  const dryRun = opts.dryRun === true;
  const json = opts.json === true;
  const app = await import("../../app/deploy");
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  const { exitCodeForRotation } = await import("../render/rotate-render");
  const { deployJson, renderDeployText } = await import("../render/deploy-render");
  const prepared = await app.prepareDeploy(config, source, {
    reason: opts.reason ?? null,
    ...(log ? { log } : {}),
    ...(opts.listener ? { listener: opts.listener } : {}),
  });
  const hooks = await import("../../app/post-change");
  const untrustedHook = prepared.ok ? hooks.untrustedPostChange(config) : null;
  if (!prepared.ok || untrustedHook) {
    const reason = prepared.ok ? untrustedHook! : prepared.reason;
    const fix = prepared.ok ? hooks.POST_CHANGE_TRUST_FIX : prepared.fix;
    process.stdout.write(
      json
        ? `${jsonText({ schema: "rdpcert.deploy/v1", outcome: "refused", exitCode: ExitCode.UNKNOWN, reason, fix })}\n`
        : terminalText(`refused  ${reason}\n${fix ? `  fix: ${fix}\n` : ""}`),
    );
    return ExitCode.UNKNOWN;
  }
  const removeOld = opts.removeOld === true;
  const write = async (result: Awaited<ReturnType<typeof app.runDeploy>>): Promise<number> => {
    // After a verified change only: the pin bundle, then the post-change hook (docs/hooks-and-staging.md).
    const after = dryRun ? null : await hooks.afterVerifiedChange(config, prepared.session.ctx.backend, result, prepared.session.ctx.log);
    const code = hooks.exitCodeAfterHook(exitCodeForRotation(result), after?.hook ?? null);
    const extra = hooks.afterChangeWarnings(after);
    const shown = extra.length ? { ...result, warnings: [...(result.warnings ?? []), ...extra] } : result;
    process.stdout.write(
      json
        ? `${jsonText({ ...deployJson(shown, prepared, code, dryRun, new Date()), postChange: hooks.postChangeJson(after?.hook ?? null) }, 2)}\n`
        : terminalText(renderDeployText(shown, prepared, dryRun)),
    );
    return code;
  };
  if (!dryRun && !opts.yes) {
    const decision = await app.decide(prepared, removeOld);
    if (decision.kind !== "rotate") return write(await app.runDeploy(prepared, { dryRun: true, removeOld }));
    if (!(await confirmPlan(decision.plan, "Deploy this certificate now?", terminalText, prepared.warnings))) {
      process.stderr.write("rdpcert: nothing changed\n");
      return ExitCode.OK;
    }
  }
  return write(await app.runDeploy(prepared, { dryRun, removeOld }));
}
