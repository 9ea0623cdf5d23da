import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Only src/hosts/**, src/schedule/** and src/log/** spawn processes or
// touch system paths; everything else talks to the contracts.
const systemModules = ["child_process", "node:child_process", "fs", "node:fs", "fs/promises", "node:fs/promises"];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "jest.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts"],
    ignores: ["src/hosts/**", "src/schedule/**", "src/log/**"],
    rules: {
      "no-restricted-imports": ["error", { paths: systemModules.map((name) => ({ name, message: "Only src/hosts/** and src/schedule/** may spawn processes or touch system paths." })) }],
    },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
