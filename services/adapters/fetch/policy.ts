// The operator's fetch allow list (`fetch.allow`, `--fetch-allow HOST[:PORT],...`) applied to a URL and to the
// addresses its host resolves to. A name must be listed to be fetched at all; an address outside the public
// internet (loopback, private, link-local, ...) is refused even for a listed name unless that exact IP:port is
// listed too, so DNS (or a redirect) cannot turn an allowed name into a way into the worker's own network.
import net from 'node:net';

import { canonicalAddress, isSpecialAddress } from './addresses.ts';

interface AllowEntry {
  /** Lower-case host name without a trailing dot, or a canonical IP address. */
  host: string;
  /** null: the scheme's default port. */
  port: number | null;
}

/** The host of a URL or allow entry as compared: lower case, no trailing dot, IP addresses canonical. */
export function normalHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) return canonicalAddress(bare);
  return bare.toLowerCase().replace(/\.$/, '');
}

function parseEntry(entry: string): AllowEntry {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.trim());
  if (!match) throw new Error(`not HOST[:PORT]: ${entry}`);
  return { host: normalHost(match[1]!), port: match[2] === undefined ? null : Number(match[2]) };
}

export class FetchPolicy {
  readonly #entries: AllowEntry[];

  constructor(allow: readonly string[]) {
    this.#entries = allow.map(parseEntry);
  }

  get empty(): boolean {
    return this.#entries.length === 0;
  }

  #listed(host: string, port: number, defaultPort: number): boolean {
    const wanted = normalHost(host);
    return this.#entries.some((e) => e.host === wanted && (e.port ?? defaultPort) === port);
  }

  /** Whether the URL's host and port are on the list. */
  allowsHost(host: string, port: number, defaultPort: number): boolean {
    return this.#listed(host, port, defaultPort);
  }

  /** Whether a resolved address may be connected to: any public address, a special one only when listed exactly. */
  allowsAddress(address: string, port: number, defaultPort: number): boolean {
    return !isSpecialAddress(address) || this.#listed(address, port, defaultPort);
  }
}
