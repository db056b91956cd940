import { embeddedIpv4, formatIp, inRange, parseRange } from './ip-address';
import type { IpRange, ParsedIp } from './ip-address';

/** What the IANA registries say in their "Globally Reachable" column (`n/a` for deprecated or tunnelling ranges). */
export type GloballyReachable = true | false | 'n/a';

/** A range set aside by IANA, with the registry's verdict and the outbound policy's. */
export interface SpecialPurposeRange {
  readonly cidr: string;
  /** What the range is, as refusal messages show it. */
  readonly label: string;
  /** The registry's column; `undefined` for ranges set aside by another registry (multicast, the IPv6 address space). */
  readonly globallyReachable: GloballyReachable | undefined;
  /** Whether outbound requests may reach it. */
  readonly allowed: boolean;
}

function range(cidr: string, label: string, globallyReachable: GloballyReachable | undefined, allowed = globallyReachable === true): SpecialPurposeRange {
  return { cidr, label, globallyReachable, allowed };
}

/**
 * The IANA IPv4 and IPv6 Special-Purpose Address Registries (as of 2025), plus the ranges other registries set
 * aside. Everything not "Globally Reachable: True" is refused. Globally reachable entries are allowed, except:
 * - the PCP, TURN and DNS-SD SRP anycast addresses (192.0.0.9, 192.0.0.10, 2001:1::1-3): they answer NAT, relay
 *   and registration clients, never HTTP, and 192.0.0.0/24 was refused whole before this table existed;
 * - ORCHIDv2 (2001:20::/28) and DETs (2001:30::/28): identifiers, not locators; nothing routes to them.
 * The most specific entry holding an address decides (2001:3::/32 AMT is allowed inside the refused 2001::/23).
 */
export const SPECIAL_PURPOSE_RANGES: readonly SpecialPurposeRange[] = [
  range('0.0.0.0/8', 'unspecified ("this network")', false),
  range('0.0.0.0/32', 'unspecified ("this host")', false),
  range('10.0.0.0/8', 'private network (RFC 1918)', false),
  range('100.64.0.0/10', 'carrier-grade NAT (RFC 6598)', false),
  range('127.0.0.0/8', 'loopback', false),
  range('169.254.0.0/16', 'link-local (incl. cloud metadata)', false),
  range('172.16.0.0/12', 'private network (RFC 1918)', false),
  range('192.0.0.0/24', 'IETF protocol assignments', false),
  range('192.0.0.0/29', 'IPv4 service continuity (DS-Lite)', false),
  range('192.0.0.8/32', 'IPv4 dummy address', false),
  range('192.0.0.9/32', 'Port Control Protocol anycast', true, false),
  range('192.0.0.10/32', 'TURN anycast', true, false),
  range('192.0.0.170/32', 'NAT64/DNS64 discovery', false),
  range('192.0.0.171/32', 'NAT64/DNS64 discovery', false),
  range('192.0.2.0/24', 'documentation (TEST-NET-1)', false),
  range('192.31.196.0/24', 'AS112-v4', true),
  range('192.52.193.0/24', 'AMT', true),
  range('192.88.99.0/24', 'deprecated 6to4 relay anycast', 'n/a'),
  range('192.88.99.2/32', '6a44 relay anycast', false),
  range('192.168.0.0/16', 'private network (RFC 1918)', false),
  range('192.175.48.0/24', 'AS112 direct delegation', true),
  range('198.18.0.0/15', 'benchmarking network', false),
  range('198.51.100.0/24', 'documentation (TEST-NET-2)', false),
  range('203.0.113.0/24', 'documentation (TEST-NET-3)', false),
  range('240.0.0.0/4', 'reserved', false),
  range('255.255.255.255/32', 'limited broadcast', false),
  range('224.0.0.0/4', 'multicast', undefined),

  range('::1/128', 'loopback', false),
  range('::/128', 'unspecified', false),
  range('::ffff:0:0/96', 'IPv4-mapped', false),
  range('64:ff9b::/96', 'NAT64', true),
  range('64:ff9b:1::/48', 'local-use NAT64', false),
  range('100::/64', 'discard-only', false),
  range('100:0:0:1::/64', 'dummy IPv6 prefix', false),
  range('2001::/23', 'IETF protocol assignments', false),
  range('2001::/32', 'Teredo', 'n/a'),
  range('2001:1::1/128', 'Port Control Protocol anycast', true, false),
  range('2001:1::2/128', 'TURN anycast', true, false),
  range('2001:1::3/128', 'DNS-SD service registration anycast', true, false),
  range('2001:2::/48', 'benchmarking network', false),
  range('2001:3::/32', 'AMT', true),
  range('2001:4:112::/48', 'AS112-v6', true),
  range('2001:10::/28', 'deprecated ORCHID', 'n/a'),
  range('2001:20::/28', 'ORCHIDv2 identifiers', true, false),
  range('2001:30::/28', 'drone remote ID entity tags', true, false),
  range('2001:db8::/32', 'documentation', false),
  range('2002::/16', '6to4', 'n/a'),
  range('2620:4f:8000::/48', 'AS112 direct delegation', true),
  range('3fff::/20', 'documentation', false),
  range('5f00::/16', 'segment routing (SRv6) SIDs', false),
  range('fc00::/7', 'unique-local', false),
  range('fe80::/10', 'link-local', false),
  range('::/96', 'IPv4-compatible (deprecated)', undefined),
  range('fec0::/10', 'site-local (deprecated)', undefined),
  range('ff00::/8', 'multicast', undefined),
];

const PARSED = SPECIAL_PURPOSE_RANGES.map((entry) => ({ ...entry, range: parseRange(entry.cidr) as IpRange }));
// Only 2000::/3 is allocated for global unicast; the rest of the IPv6 space is reserved or special (NAT64 has an entry).
const GLOBAL_UNICAST = parseRange('2000::/3') as IpRange;

/** The most specific special-purpose range holding `ip`, if any. */
export function specialPurposeRangeOf(ip: ParsedIp): SpecialPurposeRange | undefined {
  let best: (typeof PARSED)[number] | undefined;
  for (const entry of PARSED) {
    if (inRange(ip, entry.range) && (!best || entry.range.prefix > best.range.prefix)) best = entry;
  }
  return best;
}

/**
 * Why outbound requests may not reach `ip` (e.g. `loopback`), or null when it is globally reachable. An IPv6 address
 * carrying an IPv4 one is refused when the carried address is (the reason names it), and also when its own range is.
 */
export function unreachableReason(ip: ParsedIp): string | null {
  const embedded = embeddedIpv4(ip);
  if (embedded) {
    const inner = unreachableReason(embedded);
    if (inner) return `${inner}, as ${formatIp(embedded)} inside an IPv6 address`;
  }
  const special = specialPurposeRangeOf(ip);
  if (special) return special.allowed ? null : special.label;
  if (ip.family === 6 && !inRange(ip, GLOBAL_UNICAST)) return 'not global unicast (outside 2000::/3)';
  return null;
}
