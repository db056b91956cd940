import { isIP } from 'node:net';

/**
 * The address a request is rate limited by. With `trustProxy`, the last entry of `X-Forwarded-For`: the one the
 * proxy in front appended (nginx `$proxy_add_x_forwarded_for`); entries left of it come from the client and can be
 * forged, so taking the first would let anyone pick a fresh bucket per request. Without it, or when that entry is
 * not an address, the TCP peer. IPv4-mapped IPv6 is unwrapped, and IPv6 is cut to its /64: one host usually owns
 * a whole /64 and could otherwise rotate through 2^64 buckets.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: boolean): string {
  const forwarded = trustProxy ? lastForwarded(forwardedFor) : undefined;
  return bucketOf(forwarded ?? peer ?? 'unknown');
}

function lastForwarded(header: string | string[] | undefined): string | undefined {
  const entries = [header ?? []].flat().join(',').split(',');
  const last = entries[entries.length - 1]?.trim();
  return last && isIP(unwrap(last)) ? last : undefined;
}

function unwrap(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function bucketOf(raw: string): string {
  const address = unwrap(raw);
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros (`2001:db8::1` → 2001, db8, 0, …, 1). */
function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('%')[0]?.split('::') ?? [''];
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4 forms not caught above) takes two groups; only the /64 matters here.
  const missing = Math.max(0, 8 - left.length - right.length);
  return [...left, ...Array.from({ length: missing }, () => '0'), ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}
