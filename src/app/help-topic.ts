import { docsTopics, readDocsTopic } from "../hosts/local/docs-topics";

/** A reference page for `rdpcert help TOPIC`, or the topics there are. */
export type HelpTopic = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly topics: readonly string[] };

/** `rdpcert help TOPIC` for a topic that is not a command: the page docs/TOPIC.md, or the list of pages. */
export function helpTopic(topic: string): HelpTopic {
  const text = readDocsTopic(topic);
  return text === null ? { ok: false, topics: docsTopics() } : { ok: true, text };
}

/** The topics `rdpcert help topics` lists. */
export function helpTopics(): readonly string[] {
  return docsTopics();
}
