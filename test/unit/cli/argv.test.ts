import { splitCommand } from "../../../src/cli/argv";
import { UsageError } from "../../../src/cli/exit-codes";

describe("splitCommand", () => {
  it("splits on whitespace and groups quoted words, expanding nothing", () => {
    expect(splitCommand("systemctl restart xrdp", "--restart-command")).toEqual(["systemctl", "restart", "xrdp"]);
    expect(splitCommand(`sh -c 'echo $HOME; exit 5'`, "--restart-command")).toEqual(["sh", "-c", "echo $HOME; exit 5"]);
    expect(splitCommand(`/opt/my tools/restart "a b"''`, "--restart-command")).toEqual(["/opt/my", "tools/restart", "a b"]);
    expect(splitCommand(`x ""`, "--restart-command")).toEqual(["x", ""]);
  });

  it("rejects an unclosed quote and an empty command with a usage error naming the flag", () => {
    expect(() => splitCommand(`sh -c 'oops`, "--restart-command")).toThrow(new UsageError(`--restart-command has an unclosed ' quote: sh -c 'oops`));
    expect(() => splitCommand("   ", "--restart-command")).toThrow(/--restart-command is empty/);
  });
});
