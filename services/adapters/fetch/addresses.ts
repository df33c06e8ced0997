// Which IP addresses a fetch may connect to without the operator naming them. Loopback, private, link-local
// (169.254.0.0/16 holds the cloud metadata service), unique-local, multicast, unspecified and other special
// ranges reach the worker's own machine or network, not the public internet: a message must not be able to
// aim a worker at them. Addresses that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by it.
import net from 'node:net';

const SPECIAL_V4: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const SPECIAL_V6: readonly [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const special = new net.BlockList();
for (const [address, prefix] of SPECIAL_V4) special.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of SPECIAL_V6) special.addSubnet(address, prefix, 'ipv6');

/** The 16 bytes of an IPv6 address (with or without brackets, with a dotted IPv4 tail or not). */
function ipv6Bytes(text: string): Uint8Array {
  const address = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const groups: number[] = [];
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = address.indexOf('::');
  if (gap >= 0) {
    const head = parse(address.slice(0, gap));
    const tail = parse(address.slice(gap + 2));
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    groups.push(...parse(address));
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((b, i) => bytes[i] === b);

/** The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64, 6to4), if any. */
function embeddedV4(bytes: Uint8Array): string | null {
  const quad = (at: number) => `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
  if (startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])) return quad(12); // ::ffff:a.b.c.d
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return quad(12); // 64:ff9b::/96
  if (startsWith(bytes, [0x20, 0x02])) return quad(2); // 2002::/16
  return null;
}

/** Whether `address` (an IP literal) is outside the public internet: loopback, private, link-local, and so on. */
export function isSpecialAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = net.isIP(bare);
  if (family === 4) return special.check(bare, 'ipv4');
  if (family !== 6) return true; // not an address at all: never connect to it
  const v4 = embeddedV4(ipv6Bytes(bare));
  if (v4 !== null && isSpecialAddress(v4)) return true;
  return special.check(bare.replace(/%.*$/, ''), 'ipv6');
}

/** The canonical text of an IP address, so `::1`, `0:0::1` and `[::1]` compare equal. */
export function canonicalAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (net.isIP(bare) !== 6) return bare;
  const bytes = ipv6Bytes(bare);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
