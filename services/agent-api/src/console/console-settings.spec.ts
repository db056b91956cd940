import { consoleCsp, consoleSettings } from './console-settings';

describe('consoleSettings', () => {
  it('should allow only the console\'s own origin when the gateway shares it', () => {
    const settings = consoleSettings(undefined);
    expect(settings.gatewayOrigin).toBeUndefined();
    expect(settings.csp).toBe(consoleCsp());
    expect(settings.csp).toContain("connect-src 'self';");
    expect(settings.csp).toContain("script-src 'self';");
    expect(settings.csp).not.toMatch(/unsafe|\*/);
  });

  it('should add the gateway\'s origin, over http and ws, to connect-src only', () => {
    const settings = consoleSettings('https://gw.example.com:8443/');
    expect(settings.gatewayOrigin).toBe('https://gw.example.com:8443');
    expect(settings.csp).toContain("connect-src 'self' https://gw.example.com:8443 wss://gw.example.com:8443;");
    expect(settings.csp).toContain("script-src 'self';");
    expect(settings.csp).toContain("default-src 'none'");
  });
});
