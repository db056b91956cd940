import { ConfigError } from '@skreaver/config';

import { MemoryConfig } from './memory.config';

describe('MemoryConfig', () => {
  it('should default to 64 KiB values and 10000 keys per agent', () => {
    expect(MemoryConfig.load({})).toEqual({ SKREAVER_MEMORY_MAX_VALUE_BYTES: 65_536, SKREAVER_MEMORY_MAX_KEYS: 10_000 });
  });

  it('should read both limits, treating an empty value as unset', () => {
    expect(MemoryConfig.load({ SKREAVER_MEMORY_MAX_VALUE_BYTES: '1024', SKREAVER_MEMORY_MAX_KEYS: '' })).toEqual({
      SKREAVER_MEMORY_MAX_VALUE_BYTES: 1024,
      SKREAVER_MEMORY_MAX_KEYS: 10_000,
    });
  });

  it.each([
    ['SKREAVER_MEMORY_MAX_KEYS', '0'],
    ['SKREAVER_MEMORY_MAX_KEYS', 'many'],
    ['SKREAVER_MEMORY_MAX_VALUE_BYTES', '1.5'],
    ['SKREAVER_MEMORY_MAX_VALUE_BYTES', String(64 * 1024 * 1024)],
  ])('should refuse %s=%s naming the variable', (name, value) => {
    expect(() => MemoryConfig.load({ [name]: value })).toThrow(ConfigError);
    expect(() => MemoryConfig.load({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });
});
