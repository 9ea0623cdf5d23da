/** The terminal confirmation of a change (rotate, deploy): the warnings, the exact plan, then [y/N] on stderr. */
export async function confirmPlan(
  plan: readonly string[],
  question: string,
  terminalText: (text: string) => string,
  warnings: readonly string[] = [],
): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  process.stderr.write(
    terminalText(`${warnings.map((w) => `warning: ${w}\n`).join("")}rdpcert will:\n${plan.map((line, i) => `  ${i + 1}. ${line}`).join("\n")}\n`),
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
