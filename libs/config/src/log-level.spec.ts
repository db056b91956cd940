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

  it.each(['verbose', 'info,skreaver=loud', '5', 'info,skreaver=', 'a b'])('should reject %j', (spec) => {
    expect(parseLogLevel(spec)).toBeUndefined();
  });
});

describe('parseLogLevel with RUST_LOG directives for other targets', () => {
  it.each([
    ['info,hyper=off', 'info'],
    ['info,tokio', 'info'],
    ['hyper=warn', 'info'],
    ['loud,skreaver=debug', 'debug'],
    ['warn,skreaver::http=trace', 'trace'],
    ['skreaverish=trace', 'info'],
  ])('should read %j as %j', (spec, level) => {
    expect(parseLogLevel(spec)).toBe(level);
  });
});
