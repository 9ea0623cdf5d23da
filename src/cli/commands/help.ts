import type { Command } from "commander";
import { UsageError } from "../exit-codes";

/**
 * `rdpcert help [COMMAND...|TOPIC]`: a command's help (as its --help shows it), or
 * a reference page of the documentation shipped with rdpcert (docs/TOPIC.md).
 * Replaces commander's implicit help command, which knows commands only.
 */
export function registerHelp(program: Command): void {
  program
    .command("help")
    .argument("[topic...]", "a command (and subcommand), or a reference page: 'rdpcert help topics' lists them")
    .description("Show a command's help, or print a reference page of the documentation (trust rules, configuration, exit codes, JSON schemas, ...).")
    .addHelpText(
      "after",
      `
Examples:
  rdpcert help probe            # the same as: rdpcert probe --help
  rdpcert help backups restore  # the same as: rdpcert backups restore --help
  rdpcert help topics           # the reference pages there are
  rdpcert help trust            # docs/trust.md: what rdpcert, running as root, trusts
  rdpcert help exit-codes | less

Exit codes:
  0  shown
  3  no such command or page (the line lists the pages)`,
    )
    .action(async (words: string[], _options: unknown, command: Command) => {
      const root = command.parent ?? command;
      let target: Command | undefined = root;
      for (const word of words) target = target?.commands.find((c) => c.name() === word || c.aliases().includes(word));
      if (target) {
        target.outputHelp();
        return;
      }
      const { helpTopic, helpTopics } = await import("../../app/help-topic");
      const { terminalText } = await import("../../core/terminal-safe");
      if (words.length === 1 && words[0] === "topics") {
        process.stdout.write(`${helpTopics().join("\n")}\n`);
        return;
      }
      const found = words.length === 1 ? helpTopic(words[0]!) : { ok: false as const, topics: helpTopics() };
      if (!found.ok) {
        throw new UsageError(
          `no command or reference page by that name: try 'rdpcert --help'${found.topics.length > 0 ? `, or one of ${found.topics.join(", ")}` : " (the reference pages are not installed)"}`,
        );
      }
      process.stdout.write(terminalText(found.text));
    });
}
