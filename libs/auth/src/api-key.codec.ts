import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** An API key split into its public prefix and its secret. */
export interface ParsedApiKey {
  prefix: string;
  secret: string;
}

/** A freshly minted key: `key` is shown once, only `prefix` and `hash` are stored. */
export interface GeneratedApiKey extends ParsedApiKey {
  key: string;
  hash: string;
}

// The prefix is generated from the RFC 4648 base32 alphabet (lowercase), parsed as any lowercase alnum so that
// operators may hand-craft a readable bootstrap key. The secret is base64url of 32 random bytes (43 characters).
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const PREFIX_LENGTH = 10;
const SECRET_BYTES = 32;
const API_KEY = /^sk_([a-z0-9]{10})_([A-Za-z0-9_-]{32,128})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Mints a new `sk_<prefix>_<secret>` key with 256 random bits of secret. */
export function generateApiKey(): GeneratedApiKey {
  // 256 is a multiple of 32, so `byte % 32` picks every letter with the same probability.
  const prefix = Array.from(randomBytes(PREFIX_LENGTH), (byte) => PREFIX_ALPHABET[byte % PREFIX_ALPHABET.length]).join('');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { key: `sk_${prefix}_${secret}`, prefix, secret, hash: hashSecret(secret) };
}

/** Splits `sk_<prefix>_<secret>`; anything else (whitespace, other shapes, short secrets) is null. */
export function parseApiKey(raw: string): ParsedApiKey | null {
  const match = API_KEY.exec(raw);
  return match?.[1] && match[2] ? { prefix: match[1], secret: match[2] } : null;
}

/** Whether `raw` is meant as an API key (as opposed to a JWT), whether or not it is well-formed. */
export function looksLikeApiKey(raw: string): boolean {
  return raw.startsWith('sk_');
}

/**
 * SHA-256 (hex) of a key's secret, the only form in which it is stored. A fast hash is enough here: the secret
 * holds 256 random bits, so a stolen hash cannot be brute-forced whatever the hash speed; slow KDFs (bcrypt,
 * argon2) protect low-entropy passwords and would only add tens of milliseconds to every authenticated request.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `hash`, compared in constant time. */
export function verifySecret(secret: string, hash: string): boolean {
  if (!SHA256_HEX.test(hash)) return false;
  return timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(hash, 'hex'));
}
