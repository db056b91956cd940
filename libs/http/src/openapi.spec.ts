import { documentNullableScalars } from './openapi';

describe(documentNullableScalars.name, () => {
  it('should turn a nullable scalar into anyOf, keeping annotations beside it and constraints inside it', () => {
    const marker = 'x-nestjs_zod-parent-id';

    expect(
      documentNullableScalars({
        key: { type: ['string', 'null'], maxLength: 255, pattern: '^x', required: true, description: 'the key', [marker]: 'Run_Output' },
      }),
    ).toEqual({
      key: {
        required: true,
        description: 'the key',
        [marker]: 'Run_Output',
        type: '',
        'x-nestjs_zod-empty-type': true,
        anyOf: [{ type: 'string', maxLength: 255, pattern: '^x' }, { type: 'null' }],
      },
    });
  });

  it('should leave plain scalars, arrays and anyOf properties as they are', () => {
    const properties = {
      name: { type: 'string', required: true },
      tags: { type: 'array', items: { type: 'string' }, required: true },
      usage: { type: '', anyOf: [{ type: 'object' }, { type: 'null' }], required: true },
    };

    expect(documentNullableScalars(properties)).toEqual(properties);
  });
});
