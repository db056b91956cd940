import { embeddedIpv4, inRange, parseIp, parseRange } from './ip-address';
import type { IpRange } from './ip-address';
import { unreachableReason } from './special-purpose-addresses';

/** Why an outbound request was refused before any connection was made. */
export type RefusalCode = 'invalid_url' | 'domain_refused' | 'address_refused';

/** A request the network policy refused; nothing was sent. */
export class NetworkPolicyError extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'NetworkPolicyError';
  }
}

/** How agents and tools may reach the network. Everything not public is refused unless allowed here. */
export interface NetworkPolicyOptions {
  /** Allows every private, loopback and link-local address (trusted single-host setups and tests only). */
  allowPrivateNetworks?: boolean;
  /** CIDRs (`10.1.0.0/16`), single addresses (`127.0.0.1`) or host names (`db.internal`) allowed despite being private. */
  allowedNetworks?: readonly string[];
  /** When non-empty, only these domains (and their subdomains) may be called. */
  allowDomains?: readonly string[];
  /** Domains (and their subdomains) that may never be called. */
  denyDomains?: readonly string[];
}

/** Per-agent narrowing: an agent can restrict the domains it calls, never widen what the operator allowed. */
export interface DomainRestriction {
  allow_domains?: readonly string[];
  deny_domains?: readonly string[];
}

/** Why `address` is not a globally reachable address (e.g. `loopback`), or null when it is. */
export function nonPublicReason(address: string): string | null {
  const ip = parseIp(address);
  if (!ip) return 'not an IP address';
  return unreachableReason(ip);
}

/** Lower-case host without a trailing dot or IPv6 brackets, as policy lists compare it. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

function normalizeDomain(entry: string): string {
  return normalizeHost(entry.trim()).replace(/^\*?\./, '');
}

function matchesDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

interface PolicyState {
  readonly allowAllPrivate: boolean;
  readonly allowedRanges: readonly IpRange[];
  readonly allowedHosts: ReadonlySet<string>;
  /** Each list must match: the operator's and, once narrowed, the agent's. */
  readonly allowLists: readonly (readonly string[])[];
  readonly denied: readonly string[];
}

/**
 * Decides which hosts and addresses outbound HTTP may reach. Checked on every hop (redirects included) against the
 * host name and against each address it resolves to; the caller then connects to a checked address (never resolves
 * again), so DNS rebinding cannot swap in a private address between the check and the connection.
 */
export class NetworkPolicy {
  private constructor(private readonly state: PolicyState) {}

  /**
   * The policy `options` describe.
   * @throws Error naming an entry of `allowedNetworks` that is neither a CIDR, an address nor a host name.
   */
  static create(options: NetworkPolicyOptions = {}): NetworkPolicy {
    const allowedRanges: IpRange[] = [];
    const allowedHosts = new Set<string>();
    for (const entry of options.allowedNetworks ?? []) {
      const trimmed = entry.trim();
      if (!trimmed) continue;
      const range = parseRange(trimmed);
      if (range) allowedRanges.push(range);
      else if (/^[a-z0-9.-]+$/i.test(trimmed)) allowedHosts.add(normalizeHost(trimmed));
      else throw new Error(`not a CIDR, address or host name: "${trimmed}"`);
    }
    const allow = domainList(options.allowDomains);
    return new NetworkPolicy({
      allowAllPrivate: options.allowPrivateNetworks ?? false,
      allowedRanges,
      allowedHosts,
      allowLists: allow.length > 0 ? [allow] : [],
      denied: domainList(options.denyDomains),
    });
  }

  /** This policy further restricted by an agent's own domain lists. */
  narrow(restriction: DomainRestriction | undefined): NetworkPolicy {
    if (!restriction) return this;
    const allow = domainList(restriction.allow_domains);
    return new NetworkPolicy({
      ...this.state,
      allowLists: allow.length > 0 ? [...this.state.allowLists, allow] : this.state.allowLists,
      denied: [...this.state.denied, ...domainList(restriction.deny_domains)],
    });
  }

  /**
   * Checks a URL before anything is resolved: http(s) only, no credentials, host not denied and on every allow list.
   * @throws NetworkPolicyError
   */
  checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new NetworkPolicyError('invalid_url', `only http and https URLs may be called, not ${url.protocol}`);
    }
    if (url.username || url.password) throw new NetworkPolicyError('invalid_url', 'URLs with credentials are refused');
    const host = normalizeHost(url.hostname);
    if (this.state.denied.some((domain) => matchesDomain(host, domain))) {
      throw new NetworkPolicyError('domain_refused', `${host} is on the deny list`);
    }
    for (const list of this.state.allowLists) {
      if (!list.some((domain) => matchesDomain(host, domain))) {
        throw new NetworkPolicyError('domain_refused', `${host} is not on the allow list`);
      }
    }
  }

  /**
   * Checks an address `host` resolved to (or the host itself, when it is an IP literal).
   * @throws NetworkPolicyError `address_refused` when the address is not public and not explicitly allowed.
   */
  checkAddress(host: string, address: string): void {
    const ip = parseIp(address);
    if (!ip) throw new NetworkPolicyError('address_refused', `${host} resolved to "${address}", which is not an IP address`);
    const reason = unreachableReason(ip);
    if (reason === null || this.state.allowAllPrivate || this.state.allowedHosts.has(normalizeHost(host))) return;
    const inner = embeddedIpv4(ip);
    const candidates = inner ? [ip, inner] : [ip];
    if (candidates.some((candidate) => this.state.allowedRanges.some((range) => inRange(candidate, range)))) return;
    const shown = normalizeHost(host) === address ? address : `${host} (${address})`;
    throw new NetworkPolicyError(
      'address_refused',
      `refused to connect to ${shown}: ${reason} addresses are not allowed (see SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS and SKREAVER_TOOLS_ALLOWED_NETWORKS)`,
    );
  }
}

function domainList(entries: readonly string[] | undefined): string[] {
  return (entries ?? []).map(normalizeDomain).filter(Boolean);
}
