/**
 * The address a connection limit applies to. Behind `trustedHops` proxies that each append the address they
 * received from to X-Forwarded-For, the entry `trustedHops` from the end is the client; anything before it was
 * written by the client itself and cannot be trusted.
 */
export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedHops: number): string {
  const remote = normalize(remoteAddress ?? 'unknown');
  if (trustedHops === 0 || forwardedFor === undefined) return remote;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (chain.length === 0) return remote;
  // Fewer entries than proxies means a misconfigured hop count; the oldest entry is the best guess left.
  return normalize(chain[Math.max(0, chain.length - trustedHops)] ?? remote);
}

// An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d; one client must count as one address.
function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
