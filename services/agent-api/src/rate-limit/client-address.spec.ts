import { clientAddress } from './client-address';

describe(clientAddress.name, () => {
  it('should use the peer address when proxies are not trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('10.0.0.7', '203.0.113.9', false)).toBe('10.0.0.7');
  });

  it('should use the last X-Forwarded-For entry when the proxy is trusted', () => {
    expect(clientAddress('10.0.0.7', '198.51.100.1, 203.0.113.9', true)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.7', ['198.51.100.1', '203.0.113.9'], true)).toBe('203.0.113.9');
  });

  it('should ignore forged entries left of the one the proxy appended', () => {
    const forged = ['1.1.1.1, 203.0.113.9', '2.2.2.2, 203.0.113.9'].map((header) => clientAddress('10.0.0.7', header, true));

    expect(new Set(forged)).toEqual(new Set(['203.0.113.9']));
  });

  it('should fall back to the peer when the trusted entry is missing or not an address', () => {
    expect(clientAddress('10.0.0.7', undefined, true)).toBe('10.0.0.7');
    expect(clientAddress('10.0.0.7', '203.0.113.9, not-an-ip', true)).toBe('10.0.0.7');
    expect(clientAddress(undefined, undefined, false)).toBe('unknown');
  });

  it('should unwrap IPv4-mapped IPv6 addresses', () => {
    expect(clientAddress('::ffff:127.0.0.1', undefined, false)).toBe('127.0.0.1');
  });

  it('should count a whole IPv6 /64 as one client', () => {
    const a = clientAddress('2001:db8:aa:bb:1::1', undefined, false);
    const b = clientAddress('2001:0db8:00aa:00bb:ffff:ffff:ffff:ffff', undefined, false);

    expect(a).toBe('2001:db8:aa:bb::/64');
    expect(b).toBe(a);
    expect(clientAddress('::1', undefined, false)).toBe('0:0:0:0::/64');
    expect(clientAddress('2001:db8::', undefined, false)).toBe('2001:db8:0:0::/64');
  });
});
