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
      "no-restricted-imports": [
        "error",
        { paths: systemModules.map((name) => ({ name, message: "Only src/hosts/** and src/schedule/** may spawn processes or touch system paths." })) },
      ],
    },
  },
  {
    // The application layer talks to listeners through src/probe and to the host through src/hosts: no raw sockets.
    files: ["src/app/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            ...systemModules.map((name) => ({ name, message: "Only src/hosts/** and src/schedule/** may spawn processes or touch system paths." })),
            ...["net", "node:net", "tls", "node:tls"].map((name) => ({
              name,
              message: "The application layer opens no sockets: use src/probe (listeners) or src/hosts (the host).",
            })),
          ],
        },
      ],
    },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
