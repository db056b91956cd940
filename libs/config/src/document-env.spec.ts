import { z } from 'zod';

import { defineConfig } from './define-config';
import { envBoolean, envInt } from './env-fields';

describe('documentEnv', () => {
  it('reads meaning, default, required and accepted values from each field', () => {
    const config = defineConfig({
      LIMIT: envInt(10, 1, 100).describe('How many.'),
      MODE: z.enum(['a', 'b']).default('a').describe('Which.'),
      FLAG: envBoolean(false).describe('Whether.'),
      URL: z.string().optional().describe('Where.'),
      SECRET: z.string().min(32).describe('Needed.'),
      NAME: z.string().default('host-1').meta({ description: 'Who.', shownDefault: '`<hostname>`' }),
      LIST: z.string().default('').transform((value) => value.split(',')),
      PIPED: z.string().default('info').transform((value) => value.toUpperCase()).describe('Level.'),
    });
    expect(config.document()).toEqual([
      { name: 'LIMIT', description: 'How many.', default: '10', required: false, values: '1–100' },
      { name: 'MODE', description: 'Which.', default: 'a', required: false, values: 'a, b' },
      { name: 'FLAG', description: 'Whether.', default: 'false', required: false, values: undefined },
      { name: 'URL', description: 'Where.', default: undefined, required: false, values: undefined },
      { name: 'SECRET', description: 'Needed.', default: undefined, required: true, values: undefined },
      { name: 'NAME', description: 'Who.', default: '`<hostname>`', required: false, values: undefined },
      { name: 'LIST', description: undefined, default: undefined, required: false, values: undefined },
      { name: 'PIPED', description: 'Level.', default: 'info', required: false, values: undefined },
    ]);
  });
});
