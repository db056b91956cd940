import { clientAddress } from './client-address';

describe(clientAddress.name, () => {
  it('should use the peer address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('10.0.0.9', '1.2.3.4', 0)).toBe('10.0.0.9');
  });

  it('should take the entry the last trusted proxy appended', () => {
    expect(clientAddress('10.0.0.9', '1.2.3.4', 1)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.9', 'spoofed, 1.2.3.4', 1)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.9', 'spoofed, 1.2.3.4, 10.0.0.8', 2)).toBe('1.2.3.4');
  });

  it('should fall back sensibly on missing or short headers and unify IPv4-mapped addresses', () => {
    expect(clientAddress('::ffff:127.0.0.1', undefined, 1)).toBe('127.0.0.1');
    expect(clientAddress('10.0.0.9', ' , ', 1)).toBe('10.0.0.9');
    expect(clientAddress('10.0.0.9', '1.2.3.4', 3)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.9', ['1.1.1.1', '2.2.2.2'], 1)).toBe('2.2.2.2');
    expect(clientAddress(undefined, undefined, 0)).toBe('unknown');
  });
});
