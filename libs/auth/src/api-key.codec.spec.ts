import { generateApiKey, hashSecret, looksLikeApiKey, parseApiKey, verifySecret } from './api-key.codec';

describe('api-key codec', () => {
  it('should mint sk_<10 base32 chars>_<43 url-safe chars> keys whose secret hashes to the returned hash', () => {
    const { key, prefix, secret, hash } = generateApiKey();

    expect(key).toMatch(/^sk_[a-z2-7]{10}_[A-Za-z0-9_-]{43}$/);
    expect(key).toBe(`sk_${prefix}_${secret}`);
    expect(hash).toBe(hashSecret(secret));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should mint a different key every time', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateApiKey().key));
    const prefixes = new Set([...keys].map((key) => parseApiKey(key)?.prefix));

    expect(keys.size).toBe(50);
    expect(prefixes.size).toBe(50);
  });

  it('should parse what it generates back into prefix and secret', () => {
    const { key, prefix, secret } = generateApiKey();

    expect(parseApiKey(key)).toEqual({ prefix, secret });
  });

  it('should parse a secret that contains underscores and dashes', () => {
    const secret = `a_b-c${'x'.repeat(40)}_`;

    expect(parseApiKey(`sk_abcdefghij_${secret}`)).toEqual({ prefix: 'abcdefghij', secret });
  });

  it.each([
    ['an empty string', ''],
    ['no sk_ scheme', 'pk_abcdefghij_' + 'x'.repeat(43)],
    ['an upper-case prefix', 'sk_ABCDEFGHIJ_' + 'x'.repeat(43)],
    ['a 9-character prefix', 'sk_abcdefghi_' + 'x'.repeat(43)],
    ['an 11-character prefix', 'sk_abcdefghijk_' + 'x'.repeat(43)],
    ['a short secret', 'sk_abcdefghij_' + 'x'.repeat(31)],
    ['a secret with a dot', 'sk_abcdefghij_' + 'x'.repeat(40) + '.abc'],
    ['surrounding whitespace', ' sk_abcdefghij_' + 'x'.repeat(43)],
    ['a trailing newline', 'sk_abcdefghij_' + 'x'.repeat(43) + '\n'],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig'],
  ])('should refuse %s', (_label, raw) => {
    expect(parseApiKey(raw)).toBeNull();
  });

  it('should verify the right secret and refuse a tampered one', () => {
    const { secret, hash } = generateApiKey();
    const flipped = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1);

    expect(verifySecret(secret, hash)).toBe(true);
    expect(verifySecret(flipped, hash)).toBe(false);
    expect(verifySecret(`${secret}x`, hash)).toBe(false);
    expect(verifySecret(secret, generateApiKey().hash)).toBe(false);
  });

  it.each(['', 'abc', 'g'.repeat(64), 'A'.repeat(64), '0'.repeat(63)])('should refuse a stored hash that is not SHA-256 hex: %j', (hash) => {
    expect(verifySecret('whatever', hash)).toBe(false);
  });

  it('should tell API keys from tokens by their sk_ scheme', () => {
    expect(looksLikeApiKey(generateApiKey().key)).toBe(true);
    expect(looksLikeApiKey('sk_broken')).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOiJIUzI1NiJ9.e30.x')).toBe(false);
  });
});
