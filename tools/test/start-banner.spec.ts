import { startBanner } from '../start-banner.mjs';

const services = [
  { name: 'agent-api', port: 8080, readyMs: 2100 },
  { name: 'ws-gateway', port: 8081, readyMs: 900 },
  { name: 'mesh-coordinator', port: 8082, readyMs: 950 },
];
const KEY = 'sk_abcdefghij_0123456789abcdefghijklmnopqrstuvwxyzAB';
// eslint-disable-next-line no-control-regex -- colour codes are what these tests look for
const ANSI = /\u001b\[[\d;]*m/g;

describe('npm start banner', () => {
  it('should show the three URLs, the API docs, the generated key once and a curl and a CLI line using it', () => {
    const banner = startBanner({ services, adminKey: KEY });

    expect(banner).toContain('   agent-api          http://localhost:8080   ready in 2100 ms');
    expect(banner).toContain('   ws-gateway         http://localhost:8081');
    expect(banner).toContain('   mesh-coordinator   http://localhost:8082');
    expect(banner).toContain('   API docs           http://localhost:8080/docs');
    expect(banner).toContain('shown ONLY THIS ONCE');
    expect(banner).toContain(`   curl -s http://localhost:8080/agents -H "Authorization: Bearer ${KEY}"`);
    expect(banner).toContain(`   npx skreaver login --url http://localhost:8080 --key ${KEY} && npx skreaver status`);
    expect(banner.split(KEY)).toHaveLength(4);
  });

  it('should show no key after the first start, and point at the variable when the operator set one', () => {
    const later = startBanner({ services });
    const own = startBanner({ services, ownKey: true });

    expect(later).not.toMatch(/sk_[a-z0-9]{10}_/);
    expect(later).not.toContain('ONLY THIS ONCE');
    expect(later).toContain('-H "Authorization: Bearer <admin key>"');
    expect(own).toContain('-H "Authorization: Bearer $SKREAVER_ADMIN_API_KEY"');
    expect(own).toContain('npx skreaver login --url http://localhost:8080 --key $SKREAVER_ADMIN_API_KEY');
  });

  it('should list the console only when one is served', () => {
    expect(startBanner({ services })).not.toContain('console');
    expect(startBanner({ services, consoleUrl: 'http://localhost:8080/console' })).toContain('   console            http://localhost:8080/console');
  });

  it('should colour only when asked, with the same words either way', () => {
    const plain = startBanner({ services, adminKey: KEY });
    const coloured = startBanner({ services, adminKey: KEY, colour: true });

    expect(plain).not.toMatch(ANSI);
    expect(coloured).toMatch(ANSI);
    expect(coloured.replace(ANSI, '')).toBe(plain);
  });
});
