import { isProbe, roleAllows } from './access-policy';

describe('access policy', () => {
  it('should let each role do what the roles below it may', () => {
    const required = ['viewer', 'operator', 'admin'] as const;

    expect(required.map((least) => roleAllows('viewer', least))).toEqual([true, false, false]);
    expect(required.map((least) => roleAllows('operator', least))).toEqual([true, true, false]);
    expect(required.map((least) => roleAllows('admin', least))).toEqual([true, true, true]);
  });

  it('should treat only reads of the probes as probes', () => {
    for (const url of ['/health', '/ready', '/metrics']) {
      expect(isProbe('GET', url)).toBe(true);
      expect(isProbe('HEAD', url)).toBe(true);
      expect(isProbe('POST', url)).toBe(false);
    }
    expect(isProbe('GET', '/agents')).toBe(false);
    expect(isProbe('GET', '/healthz')).toBe(false);
  });
});
