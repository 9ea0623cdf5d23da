// Parses PowerShell files with the tree-sitter-powershell grammar (PowerShell itself
// cannot run here) and prints, as JSON, every ERROR or MISSING node with its line
// and column. Usage: node test/helpers/ps-parse.mjs FILE... ; a separate process
// because the grammar is an ES module with top-level await.
import { readFileSync } from "node:fs";
import process from "node:process";
import Parser from "tree-sitter";
import PowerShell from "tree-sitter-powershell";

const parser = new Parser();
parser.setLanguage(PowerShell);
const report = {};
for (const file of process.argv.slice(2)) {
  const tree = parser.parse(readFileSync(file, "utf8"));
  const problems = [];
  const walk = (node) => {
    if (node.type === "ERROR" || node.isMissing) {
      problems.push({ line: node.startPosition.row + 1, column: node.startPosition.column + 1, kind: node.isMissing ? `missing ${node.type}` : "syntax error", text: node.text.slice(0, 60) });
      return;
    }
    for (const child of node.children) walk(child);
  };
  walk(tree.rootNode);
  report[file] = { hasError: tree.rootNode.hasError, problems };
}
process.stdout.write(JSON.stringify(report));
