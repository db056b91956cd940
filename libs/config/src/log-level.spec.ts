import { parseLogLevel } from './log-level';

describe(parseLogLevel.name, () => {
  it.each([
    ['info', 'info'],
    ['trace', 'trace'],
    ['error', 'error'],
    ['WARNING', 'warn'],
    ['warning', 'warn'],
    [' Debug ', 'debug'],
    ['debug,skreaver=trace', 'trace'],
    ['skreaver=trace,debug', 'trace'],
    ['info,skreaver=debug', 'debug'],
    ['warn,other=debug', 'warn'],
    ['warn, hyper=trace , tower=debug', 'warn'],
    ['', 'info'],
  ])('should parse %j as %s', (spec, expected) => {
    expect(parseLogLevel(spec)).toBe(expected);
  });

  it.each(['verbose', 'info,skreaver=loud', 'loud,skreaver=info', '5'])('should reject %j', (spec) => {
    expect(parseLogLevel(spec)).toBeUndefined();
  });
});
