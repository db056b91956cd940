import { ACCESS_RULES, authorize, isPublicRoute, requiredRole } from './access-policy';

describe('access policy', () => {
  it('should let each role do what the roles below it may', () => {
    const read = { method: 'GET', url: '/agents' };
    const write = { method: 'POST', url: '/agents' };
    const admin = { method: 'GET', url: '/audit' };

    expect([read, write, admin].map((route) => authorize('viewer', route).allowed)).toEqual([true, false, false]);
    expect([read, write, admin].map((route) => authorize('operator', route).allowed)).toEqual([true, true, false]);
    expect([read, write, admin].map((route) => authorize('admin', route).allowed)).toEqual([true, true, true]);
  });

  it('should say which role a refused caller lacks', () => {
    expect(authorize('viewer', { method: 'DELETE', url: '/agents/:id' })).toEqual({ allowed: false, reason: 'role', required: 'operator' });
  });

  it('should treat HEAD like GET', () => {
    expect(requiredRole({ method: 'HEAD', url: '/runs/:id' })).toBe('viewer');
    expect(requiredRole({ method: 'HEAD', url: '/api-keys' })).toBe('admin');
    expect(isPublicRoute({ method: 'HEAD', url: '/health' })).toBe(true);
  });

  it('should refuse a route it has no rule for, whatever the role', () => {
    expect(authorize('admin', { method: 'POST', url: '/agents/:id/clone' })).toEqual({ allowed: false, reason: 'no_rule' });
    expect(authorize('admin', { method: 'GET', url: '/agents/:agentId' })).toEqual({ allowed: false, reason: 'no_rule' });
  });

  it('should keep probes and docs public, and nothing that changes state', () => {
    for (const url of ['/health', '/ready', '/metrics', '/docs', '/openapi.json']) expect(isPublicRoute({ method: 'GET', url })).toBe(true);
    expect(isPublicRoute({ method: 'POST', url: '/health' })).toBe(false);
    expect(isPublicRoute({ method: 'GET', url: '/agents' })).toBe(false);
  });

  it('should reserve API keys, the audit log, tenant-wide revocation and profiling to admins', () => {
    const adminOnly = Object.entries(ACCESS_RULES).filter(([, role]) => role === 'admin').map(([key]) => key);

    expect(adminOnly.sort()).toEqual([
      'DELETE /api-keys/:id',
      'GET /api-keys',
      'GET /audit',
      'GET /debug/profile/cpu',
      'GET /debug/profile/heap',
      'POST /api-keys',
      'POST /auth/revoke-all',
    ]);
  });
});
