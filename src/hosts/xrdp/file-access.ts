/** Moved to src/hosts/local/file-access.ts (every Linux server kind judges file access the same way). */
export { type Access, type Identity, readableBy } from "../local/file-access";
