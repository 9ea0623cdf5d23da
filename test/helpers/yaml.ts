/**
 * YAML for the tests that edit the shipped contrib/prometheus files the way a
 * user would (js-yaml, a devDependency); Prometheus reads the JSON we write
 * back (YAML is a superset of JSON).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsYaml = require("js-yaml") as { load(text: string): unknown };

export function parseYaml(text: string): unknown {
  return jsYaml.load(text);
}
