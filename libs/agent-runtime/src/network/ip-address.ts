import { isIPv4, isIPv6 } from 'node:net';

/**
 * An IP address as a number (IPv4: 32 bits, IPv6: 128 bits) with its family, for range checks.
 * Not `net.BlockList`: it answers membership only (the special-purpose table needs the most specific labelled entry),
 * knows only the IPv4-mapped embedding (not NAT64, 6to4, Teredo), and matches across families: a `::ffff:0:0/96`
 * rule holds every IPv4 address and an IPv4 rule holds its mapped IPv6 forms (Node 20), which would refuse all of IPv4.
 */
export interface ParsedIp {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A CIDR block (`10.0.0.0/8`, `fc00::/7`); a single address is a /32 or /128. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

/** Parses an IPv4 or IPv6 literal (no brackets, no zone id); null when it is not one. */
export function parseIp(text: string): ParsedIp | null {
  if (isIPv4(text)) return { family: 4, value: ipv4Value(text) };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, value: ipv6Value(text) };
  return null;
}

/** Parses `address/prefix` or a bare address; null when malformed. */
export function parseRange(text: string): IpRange | null {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(address);
  if (!ip) return null;
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return null;
  return { family: ip.family, base: ip.value & mask(bits, prefix), prefix };
}

/** Whether `ip` lies in `range` (families must match). */
export function inRange(ip: ParsedIp, range: IpRange): boolean {
  if (ip.family !== range.family) return false;
  return (ip.value & mask(ip.family === 4 ? 32 : 128, range.prefix)) === range.base;
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach an IPv4 host: IPv4-mapped (`::ffff:a.b.c.d`),
 * IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some stacks), NAT64 (`64:ff9b::/96`, and the
 * local-use `64:ff9b:1::/48` read as a /96 translator would write it), 6to4 (`2002::/16`) and Teredo (`2001::/32`,
 * the client's address, stored inverted). Checking the embedded address stops `::ffff:127.0.0.1` from reaching
 * loopback; it only names what a refusal is about when the IPv6 range is refused anyway.
 */
export function embeddedIpv4(ip: ParsedIp): ParsedIp | null {
  if (ip.family !== 6) return null;
  const low32 = ip.value & 0xffffffffn;
  if (ip.value >> 32n === 0xffffn) return { family: 4, value: low32 };
  // ::/96 holds :: and ::1 too, which are classified as IPv6 addresses of their own.
  if (ip.value >> 32n === 0n && ip.value > 1n) return { family: 4, value: low32 };
  if (ip.value >> 32n === 0x0064ff9b0000000000000000n) return { family: 4, value: low32 };
  if (ip.value >> 80n === 0x0064ff9b0001n) return { family: 4, value: low32 };
  if (ip.value >> 112n === 0x2002n) return { family: 4, value: (ip.value >> 80n) & 0xffffffffn };
  if (ip.value >> 96n === 0x20010000n) return { family: 4, value: low32 ^ 0xffffffffn };
  return null;
}

/** Dotted-quad or colon-hex text of a parsed address (IPv6 uncompressed), for messages. */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((ip.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

function mask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(text: string): bigint {
  // A dotted-quad tail (`::ffff:1.2.3.4`) stands for the last two hextets.
  let address = text.toLowerCase();
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (quad?.[1]) {
    const v4 = ipv4Value(quad[1]);
    address = `${address.slice(0, -quad[1].length)}${((v4 >> 16n) & 0xffffn).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = tail === undefined ? headParts : [...headParts, ...Array.from({ length: missing }, () => '0'), ...tailParts];
  return parts.reduce((value, part) => (value << 16n) | BigInt(parseInt(part, 16)), 0n);
}
