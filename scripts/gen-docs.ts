/**
 * Writes the reference part of docs/commands/<name>.md from the commander
 * definitions in src/cli/commands/*.ts, so a command's reference is written
 * once: its description, usage, options (with defaults and choices) and the
 * text each command adds after its help (examples, outcomes, exit codes). The
 * part sits between BEGIN/END GENERATED REFERENCE markers; the hand-written
 * text around it (how the command behaves, in prose) is kept as it is. A page
 * that does not exist yet is created with a title and the generated part.
 *
 *   node dist/scripts/gen-docs.js            # (npm run docs) rewrite docs/commands/
 *   node dist/scripts/gen-docs.js --check    # exit 1 when docs/commands/ is out of date
 *   node dist/scripts/gen-docs.js --out DIR  # write (or --check) another directory
 *
 * The help is rendered at a fixed width of 80 columns and without colours, so
 * the pages do not depend on the terminal that ran the script.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, Help } from "commander";
import { buildProgram } from "../src/cli/main";

const ROOT = join(__dirname, "..", "..");
const WIDTH = 80;

/** Fixed width, no colours, for this command and every subcommand. */
function freeze(command: Command): void {
  command.configureHelp({ helpWidth: WIDTH });
  command.configureOutput({ getOutHelpWidth: () => WIDTH, getErrHelpWidth: () => WIDTH, getOutHasColors: () => false, getErrHasColors: () => false });
  for (const sub of command.commands) freeze(sub);
}

/** The text the command adds after its help (addHelpText('after', ...)). */
function afterText(command: Command): string {
  let text = "";
  // Command is an EventEmitter at run time; addHelpText('after') listens for "afterHelp".
  (command as unknown as NodeJS.EventEmitter).emit("afterHelp", { error: false, command, write: (s: string) => (text += s) });
  return text.replace(/^\n+/, "").replace(/\s+$/, "");
}

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * One command's reference: its title at `level`, then description, usage,
 * arguments, options and after-text one level below; then its subcommands.
 */
function section(command: Command, level: number, title: string): string[] {
  const help: Help = command.createHelp();
  const sub = "#".repeat(level + 1);
  const out: string[] = [`${"#".repeat(level)} ${title}`, ""];
  const description = help.commandDescription(command);
  if (description) out.push(description, "");
  out.push(`${sub} Usage`, "", "```text", help.commandUsage(command), "```", "");
  const args = help.visibleArguments(command);
  if (args.length > 0) {
    out.push(`${sub} Arguments`, "", "| Argument | Description |", "|---|---|");
    for (const arg of args) out.push(`| \`${help.argumentTerm(arg)}\` | ${cell(help.argumentDescription(arg))} |`);
    out.push("");
  }
  const options = help.visibleOptions(command);
  if (options.length > 0) {
    out.push(`${sub} Options`, "", "| Option | Description |", "|---|---|");
    for (const option of options) out.push(`| \`${help.optionTerm(option)}\` | ${cell(help.optionDescription(option))} |`);
    out.push("");
  }
  const subs = help.visibleCommands(command).filter((c) => c.name() !== "help");
  if (subs.length > 0) {
    out.push(`${sub} Subcommands`, "", "| Command | Description |", "|---|---|");
    for (const s of subs) out.push(`| \`${help.subcommandTerm(s)}\` | ${cell(help.subcommandDescription(s))} |`);
    out.push("");
  }
  const after = afterText(command);
  if (after) out.push(`${sub} Examples, exit codes and notes`, "", "```text", after, "```", "");
  for (const s of subs) out.push(...section(s, level + 1, `\`${fullName(s)}\``));
  return out;
}

const BEGIN =
  "<!-- BEGIN GENERATED REFERENCE: `npm run docs` (scripts/gen-docs.ts) writes this part from the command's definition in src/cli/commands/; edit the help text there, not here. -->";
const END = "<!-- END GENERATED REFERENCE -->";

/** The generated part of every page, by file name: one per command, and README.md (the index). */
export function renderCommandDocs(program: Command = buildProgram()): Map<string, { title: string; block: string }> {
  freeze(program);
  const pages = new Map<string, { title: string; block: string }>();
  const commands = program.commands;
  const note = "Defaults shown are Linux's; on Windows the state dir is `%ProgramData%\\rdpcert` and the config file `%ProgramData%\\rdpcert\\config.json`.";
  for (const command of commands) {
    pages.set(`${command.name()}.md`, { title: `# \`rdpcert ${command.name()}\``, block: [...section(command, 2, "Reference (`--help`)"), note].join("\n") });
  }
  const help = program.createHelp();
  const index = [
    "## Commands",
    "",
    "| Command | What it does |",
    "|---|---|",
    ...commands.map((c) => `| [\`rdpcert ${c.name()}\`](${c.name()}.md) | ${cell(help.subcommandDescription(c))} |`),
    "",
    "## Global options",
    "",
    "| Option | Description |",
    "|---|---|",
    ...help.visibleOptions(program).map((o) => `| \`${help.optionTerm(o)}\` | ${cell(help.optionDescription(o))} |`),
    "",
    "## `rdpcert --help`: examples and exit codes",
    "",
    "```text",
    afterText(program),
    "```",
  ];
  pages.set("README.md", { title: "# Command reference", block: index.join("\n") });
  return pages;
}

/** `text` with its generated part replaced by `block` (a new page when `text` is null). */
export function withBlock(text: string | null, title: string, block: string): string {
  const generated = `${BEGIN}\n\n${block}\n\n${END}`;
  if (text === null) return `${title}\n\n${generated}\n`;
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) return `${text.replace(/\s+$/, "")}\n\n${generated}\n`;
  return text.slice(0, begin) + generated + text.slice(end + END.length);
}

/** The pages whose generated part is out of date or missing in `dir`; rewrites them unless `check`. */
export function syncCommandDocs(dir: string, check: boolean): string[] {
  const stale: string[] = [];
  for (const [name, { title, block }] of renderCommandDocs()) {
    const path = join(dir, name);
    const text = existsSync(path) ? readFileSync(path, "utf8") : null;
    const wanted = withBlock(text, title, block);
    if (text === wanted) continue;
    stale.push(name);
    if (!check) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, wanted);
    }
  }
  return stale;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const check = argv.includes("--check");
  const outAt = argv.indexOf("--out");
  const dir = outAt >= 0 && argv[outAt + 1] ? argv[outAt + 1]! : join(ROOT, "docs", "commands");
  const stale = syncCommandDocs(dir, check);
  if (check && stale.length > 0) {
    process.stderr.write(`gen-docs: ${dir} is out of date (${stale.join(", ")}): run 'npm run docs'\n`);
    process.exitCode = 1;
  } else if (!check) {
    process.stdout.write(`gen-docs: wrote ${dir} (${stale.length === 0 ? "unchanged" : `updated ${stale.join(", ")}`})\n`);
  }
}
