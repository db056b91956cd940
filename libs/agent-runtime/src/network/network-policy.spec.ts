import { embeddedIpv4, formatIp, parseIp, parseRange } from './ip-address';
import { NetworkPolicy, NetworkPolicyError, nonPublicReason } from './network-policy';
import { SPECIAL_PURPOSE_RANGES, specialPurposeRangeOf } from './special-purpose-addresses';

function refusal(fn: () => void): NetworkPolicyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof NetworkPolicyError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('IP parsing', () => {
  it.each([
    ['127.0.0.1', 4, 0x7f000001n],
    ['::1', 6, 1n],
    ['::', 6, 0n],
    ['::ffff:127.0.0.1', 6, 0xffff7f000001n],
    ['::ffff:7f00:1', 6, 0xffff7f000001n],
    ['fe80::1:2', 6, 0xfe80000000000000000000000001_0002n],
  ])('should parse %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  it.each(['localhost', '1.2.3', '256.1.1.1', '::g', 'fe80::1%eth0', ''])('should not parse %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it.each(['10.0.0.0/33', '10.0.0.0/x', '::/129', 'nope/8', '1.2.3.4/8/9'])('should not parse the range %j', (text) => {
    expect(parseRange(text)).toBeNull();
  });

  it.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::10.1.2.3', '10.1.2.3'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['2002:c0a8:0101::1', '192.168.1.1'],
    ['64:ff9b:1::7f00:1', '127.0.0.1'],
    ['2001:0:4136:e378:8000:63bf:3f57:fefe', '192.168.1.1'],
  ])('should find the IPv4 address inside %s', (text, inner) => {
    const ip = parseIp(text);
    const embedded = ip ? embeddedIpv4(ip) : null;
    expect(embedded ? formatIp(embedded) : null).toBe(inner);
  });
});

describe(nonPublicReason.name, () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback, as 127.0.0.1 inside an IPv6 address'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a00:1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
  ])('should classify %s as %s', (address, reason) => {
    expect(nonPublicReason(address)).toContain(reason);
  });

  it.each(['93.184.216.34', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111'])('should treat %s as public', (address) => {
    expect(nonPublicReason(address)).toBeNull();
  });
});

/**
 * One row per entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries (as of 2025), with a sample
 * address inside it and not inside a more specific entry: what the registry says in its "Globally Reachable" column,
 * and what the policy does. Everything not globally reachable is refused; the few globally reachable entries that
 * are refused anyway say why. Then the ranges other registries set aside, and public addresses that must stay allowed.
 */
type Registry = 'True' | 'False' | 'N/A';
const IANA_IPV4: ReadonlyArray<readonly [string, string, Registry, 'allowed' | 'refused']> = [
  ['0.0.0.0/8', '0.1.2.3', 'False', 'refused'],
  ['0.0.0.0/32', '0.0.0.0', 'False', 'refused'],
  ['10.0.0.0/8', '10.20.30.40', 'False', 'refused'],
  ['100.64.0.0/10', '100.100.1.1', 'False', 'refused'],
  ['127.0.0.0/8', '127.0.0.1', 'False', 'refused'],
  ['169.254.0.0/16', '169.254.169.254', 'False', 'refused'],
  ['172.16.0.0/12', '172.20.1.1', 'False', 'refused'],
  ['192.0.0.0/24', '192.0.0.200', 'False', 'refused'],
  ['192.0.0.0/29', '192.0.0.1', 'False', 'refused'],
  ['192.0.0.8/32', '192.0.0.8', 'False', 'refused'],
  // PCP and TURN anycast are globally reachable, but they serve NAT and relay clients, not HTTP: 192.0.0.0/24 stays refused whole.
  ['192.0.0.9/32', '192.0.0.9', 'True', 'refused'],
  ['192.0.0.10/32', '192.0.0.10', 'True', 'refused'],
  ['192.0.0.170/32', '192.0.0.170', 'False', 'refused'],
  ['192.0.0.171/32', '192.0.0.171', 'False', 'refused'],
  ['192.0.2.0/24', '192.0.2.10', 'False', 'refused'],
  ['192.31.196.0/24', '192.31.196.1', 'True', 'allowed'],
  ['192.52.193.0/24', '192.52.193.1', 'True', 'allowed'],
  ['192.88.99.0/24', '192.88.99.1', 'N/A', 'refused'],
  ['192.88.99.2/32', '192.88.99.2', 'False', 'refused'],
  ['192.168.0.0/16', '192.168.1.1', 'False', 'refused'],
  ['192.175.48.0/24', '192.175.48.1', 'True', 'allowed'],
  ['198.18.0.0/15', '198.19.255.1', 'False', 'refused'],
  ['198.51.100.0/24', '198.51.100.7', 'False', 'refused'],
  ['203.0.113.0/24', '203.0.113.9', 'False', 'refused'],
  ['240.0.0.0/4', '250.1.2.3', 'False', 'refused'],
  ['255.255.255.255/32', '255.255.255.255', 'False', 'refused'],
];
const IANA_IPV6: ReadonlyArray<readonly [string, string, Registry, 'allowed' | 'refused']> = [
  ['::1/128', '::1', 'False', 'refused'],
  ['::/128', '::', 'False', 'refused'],
  // Refused whatever it carries: a resolver never hands these out for a public host, and the IPv4 form works.
  ['::ffff:0:0/96', '::ffff:8.8.8.8', 'False', 'refused'],
  ['64:ff9b::/96', '64:ff9b::808:808', 'True', 'allowed'],
  ['64:ff9b:1::/48', '64:ff9b:1::808:808', 'False', 'refused'],
  ['100::/64', '100::1', 'False', 'refused'],
  ['100:0:0:1::/64', '100:0:0:1::1', 'False', 'refused'],
  ['2001::/23', '2001:1ff::1', 'False', 'refused'],
  // Teredo: N/A; its client address (obfuscated here: 8.8.8.8) is public, the tunnel is refused anyway.
  ['2001::/32', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'N/A', 'refused'],
  // Anycast of NAT, relay and service-registration protocols, not HTTP: refused, as their IPv4 twins.
  ['2001:1::1/128', '2001:1::1', 'True', 'refused'],
  ['2001:1::2/128', '2001:1::2', 'True', 'refused'],
  ['2001:1::3/128', '2001:1::3', 'True', 'refused'],
  ['2001:2::/48', '2001:2::1', 'False', 'refused'],
  ['2001:3::/32', '2001:3::1', 'True', 'allowed'],
  ['2001:4:112::/48', '2001:4:112::1', 'True', 'allowed'],
  ['2001:10::/28', '2001:10::1', 'N/A', 'refused'],
  // ORCHIDv2 and DETs are identifiers, not locators (RFC 7343, RFC 9374): nothing routes to them.
  ['2001:20::/28', '2001:20::1', 'True', 'refused'],
  ['2001:30::/28', '2001:30::1', 'True', 'refused'],
  ['2001:db8::/32', '2001:db8::1', 'False', 'refused'],
  ['2002::/16', '2002:808:808::1', 'N/A', 'refused'],
  ['2620:4f:8000::/48', '2620:4f:8000::1', 'True', 'allowed'],
  ['3fff::/20', '3fff::1', 'False', 'refused'],
  ['5f00::/16', '5f00::1', 'False', 'refused'],
  ['fc00::/7', 'fd12:3456::1', 'False', 'refused'],
  ['fe80::/10', 'fe80::1', 'False', 'refused'],
];
// Set aside by other IANA registries (multicast, the IPv6 address space): not reachable as unicast hosts either.
const OTHER_RANGES: ReadonlyArray<readonly [string, string]> = [
  ['224.0.0.0/4 multicast', '239.1.2.3'],
  ['::/96 IPv4-compatible (deprecated)', '::8.8.8.8'],
  ['fec0::/10 site-local (deprecated)', 'fec0::1'],
  ['ff00::/8 multicast', 'ff02::1'],
  ['4000::/3 outside global unicast 2000::/3', '4000::1'],
];
const PUBLIC = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2001:4860:4860::8888'];

describe('the IANA special-purpose address registries', () => {
  it.each([...IANA_IPV4, ...IANA_IPV6])('%s (%s, globally reachable: %s) should be %s', (_range, sample, _registry, expected) => {
    const reason = nonPublicReason(sample);

    expect(reason === null ? 'allowed' : 'refused').toBe(expected);
    if (expected === 'refused') expect(refusal(() => NetworkPolicy.create().checkAddress(sample, sample)).code).toBe('address_refused');
    else expect(() => NetworkPolicy.create().checkAddress(sample, sample)).not.toThrow();
  });

  it("should know exactly the registries' entries, and find each sample in its own entry", () => {
    const registry = [...IANA_IPV4, ...IANA_IPV6];
    const column = (reachable: boolean | 'n/a'): Registry => (reachable === 'n/a' ? 'N/A' : reachable ? 'True' : 'False');
    const listed = SPECIAL_PURPOSE_RANGES.flatMap((entry) => (entry.globallyReachable === undefined ? [] : [[entry.cidr, column(entry.globallyReachable)]]));

    expect(listed).toEqual(registry.map(([cidr, , reachable]) => [cidr, reachable]));
    for (const [cidr, sample] of registry) {
      const ip = parseIp(sample);
      expect([sample, ip && specialPurposeRangeOf(ip)?.cidr]).toEqual([sample, cidr]);
    }
  });

  it.each(OTHER_RANGES)('%s (%s) should be refused', (_range, sample) => {
    expect(nonPublicReason(sample)).not.toBeNull();
  });

  it.each(PUBLIC)('%s should be allowed', (address) => {
    expect(nonPublicReason(address)).toBeNull();
    expect(() => NetworkPolicy.create().checkAddress(address, address)).not.toThrow();
  });

  it.each([
    ['64:ff9b:1::a9fe:a9fe', 'link-local (incl. cloud metadata), as 169.254.169.254 inside an IPv6 address'],
    ['64:ff9b::a9fe:a9fe', 'link-local (incl. cloud metadata), as 169.254.169.254 inside an IPv6 address'],
    // Teredo's client address is stored inverted: 0x3f57fefe is 192.168.1.1.
    ['2001:0:4136:e378:8000:63bf:3f57:fefe', 'private network (RFC 1918), as 192.168.1.1 inside an IPv6 address'],
  ])('should name the IPv4 address %s carries when that is what is refused', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });
});

describe(NetworkPolicy.name, () => {
  const url = (text: string) => new URL(text);

  it('should refuse private addresses by default, naming the address and the switch', () => {
    const error = refusal(() => NetworkPolicy.create().checkAddress('10.0.0.1', '10.0.0.1'));

    expect(error.code).toBe('address_refused');
    expect(error.message).toMatch(/^refused to connect to 10\.0\.0\.1: private network/);
    expect(error.message).toContain('SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS');
  });

  it('should show the host name with the address it resolved to', () => {
    expect(refusal(() => NetworkPolicy.create().checkAddress('localhost', '127.0.0.1')).message).toMatch(/^refused to connect to localhost \(127\.0\.0\.1\): loopback/);
  });

  it('should allow public addresses', () => {
    expect(() => NetworkPolicy.create().checkAddress('example.com', '93.184.216.34')).not.toThrow();
  });

  it('should allow everything private with allowPrivateNetworks', () => {
    const sut = NetworkPolicy.create({ allowPrivateNetworks: true });

    for (const address of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '::1']) expect(() => sut.checkAddress(address, address)).not.toThrow();
  });

  it('should allow only the listed networks and hosts', () => {
    const sut = NetworkPolicy.create({ allowedNetworks: ['127.0.0.0/8', '10.1.0.0/16', 'db.internal'] });

    expect(() => sut.checkAddress('127.0.0.1', '127.0.0.1')).not.toThrow();
    expect(() => sut.checkAddress('x', '::ffff:127.0.0.1')).not.toThrow();
    expect(() => sut.checkAddress('10.1.2.3', '10.1.2.3')).not.toThrow();
    expect(() => sut.checkAddress('db.internal', '10.9.9.9')).not.toThrow();
    expect(refusal(() => sut.checkAddress('10.2.0.1', '10.2.0.1')).code).toBe('address_refused');
    expect(refusal(() => sut.checkAddress('::1', '::1')).code).toBe('address_refused');
    expect(refusal(() => sut.checkAddress('169.254.169.254', '169.254.169.254')).code).toBe('address_refused');
  });

  it('should reject an allowed-networks entry that is none of CIDR, address or host', () => {
    expect(() => NetworkPolicy.create({ allowedNetworks: ['10.0.0.0/99'] })).toThrow('not a CIDR, address or host name: "10.0.0.0/99"');
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/'])('should refuse the scheme of %s', (text) => {
    expect(refusal(() => NetworkPolicy.create().checkUrl(url(text))).code).toBe('invalid_url');
  });

  it('should refuse URLs carrying credentials', () => {
    expect(refusal(() => NetworkPolicy.create().checkUrl(url('http://user:pw@example.com/'))).code).toBe('invalid_url');
  });

  it('should apply deny and allow lists to the host and its subdomains', () => {
    const sut = NetworkPolicy.create({ allowDomains: ['example.com', '*.example.org'], denyDomains: ['secret.example.com'] });

    expect(() => sut.checkUrl(url('https://example.com/'))).not.toThrow();
    expect(() => sut.checkUrl(url('https://api.example.com/'))).not.toThrow();
    expect(() => sut.checkUrl(url('https://www.example.org/'))).not.toThrow();
    expect(refusal(() => sut.checkUrl(url('https://a.secret.example.com/'))).message).toContain('deny list');
    expect(refusal(() => sut.checkUrl(url('https://notexample.com/'))).message).toContain('not on the allow list');
  });

  it("should narrow the operator's lists with the agent's, never widen them", () => {
    const sut = NetworkPolicy.create({ allowDomains: ['example.com'] }).narrow({ allow_domains: ['api.example.com', 'other.org'], deny_domains: ['v1.api.example.com'] });

    expect(() => sut.checkUrl(url('https://api.example.com/'))).not.toThrow();
    expect(refusal(() => sut.checkUrl(url('https://other.org/'))).code).toBe('domain_refused');
    expect(refusal(() => sut.checkUrl(url('https://www.example.com/'))).code).toBe('domain_refused');
    expect(refusal(() => sut.checkUrl(url('https://v1.api.example.com/'))).code).toBe('domain_refused');
  });

  it('should keep private networks refused after narrowing', () => {
    expect(refusal(() => NetworkPolicy.create().narrow({ allow_domains: ['localhost'] }).checkAddress('localhost', '127.0.0.1')).code).toBe('address_refused');
  });
});
