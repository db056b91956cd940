import { embeddedIpv4, formatIp, parseIp, parseRange } from './ip-address';
import { NetworkPolicy, NetworkPolicyError, nonPublicReason } from './network-policy';

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
    ['255.255.255.255', 'reserved'],
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

  it.each(['93.184.216.34', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('should treat %s as public', (address) => {
    expect(nonPublicReason(address)).toBeNull();
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
