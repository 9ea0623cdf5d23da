import { BlockList, isIP } from "node:net";

/**
 * Which targets the exporter may probe (it is not an open scanner): IP
 * addresses, CIDR networks and exact host names. A name that is not listed
 * itself is allowed only when every address it resolves to is inside an
 * allowed network, and the probe then goes to that checked address (no second
 * lookup that could answer differently).
 */
export interface AllowList {
  readonly entries: readonly string[];
  allowsAddress(address: string): boolean;
  allowsName(name: string): boolean;
}

export class AllowListError extends Error {
  override name = "AllowListError";
}

/** Loopback only: what the exporter probes unless --allow-target says more. */
export const DEFAULT_ALLOWED = ["127.0.0.0/8", "::1", "localhost"] as const;

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function parseAllowList(entries: readonly string[]): AllowList {
  const blocks = new BlockList();
  const names = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim();
    const slash = entry.indexOf("/");
    if (slash >= 0) {
      const base = entry.slice(0, slash);
      const bitsText = entry.slice(slash + 1);
      const family = isIP(base);
      const max = family === 4 ? 32 : 128;
      if (family === 0 || !/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) {
        throw new AllowListError(`--allow-target "${entry}" is not a valid network: use an address, ADDRESS/BITS (e.g. 10.0.0.0/8, fd00::/8) or a host name`);
      }
      blocks.addSubnet(base, Number(bitsText), family === 4 ? "ipv4" : "ipv6");
    } else if (isIP(entry)) {
      blocks.addAddress(entry, isIP(entry) === 4 ? "ipv4" : "ipv6");
    } else if (HOST_NAME.test(entry)) {
      names.add(entry.toLowerCase().replace(/\.$/, ""));
    } else {
      throw new AllowListError(`--allow-target "${entry}" is not an address, a network or a host name`);
    }
  }
  return {
    entries: [...entries],
    allowsAddress: (address) => {
      const family = isIP(address);
      if (family === 0) return false;
      return blocks.check(address, family === 4 ? "ipv4" : "ipv6");
    },
    allowsName: (name) => names.has(name.toLowerCase().replace(/\.$/, "")),
  };
}
