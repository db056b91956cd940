import { collect, initialValues, planForm } from './schema-form';
import type { FormPlan } from './schema-form';

const BOOKING = {
  type: 'object',
  properties: {
    city: { type: 'string', title: 'City', minLength: 2 },
    nights: { type: 'integer', minimum: 1, maximum: 30, default: 2 },
    budget: { type: 'number', description: 'in euros' },
    breakfast: { type: 'boolean' },
    room: { enum: ['single', 'double'], default: 'double' },
    floor: { enum: [1, 2, 3] },
  },
  required: ['city', 'nights'],
};

describe('planForm', () => {
  it('should make a field per property, with labels, required marks and defaults', () => {
    const plan = planForm(BOOKING) as Extract<FormPlan, { shape: 'object' }>;
    expect(plan.shape).toBe('object');
    expect(plan.fields.map((field) => [field.name, field.kind, field.label, field.required])).toEqual([
      ['city', 'string', 'City', true],
      ['nights', 'integer', 'nights', true],
      ['budget', 'number', 'budget', false],
      ['breakfast', 'boolean', 'breakfast', false],
      ['room', 'enum', 'room', false],
      ['floor', 'enum', 'floor', false],
    ]);
    expect(initialValues(plan)).toEqual({ city: '', nights: '2', budget: '', breakfast: false, room: '1', floor: '' });
  });

  it('should ask for a single value when the schema is one', () => {
    expect(planForm({ type: 'string' })).toEqual({ shape: 'value', field: expect.objectContaining({ name: '', kind: 'string', label: 'Answer', required: true }) });
    expect(planForm({ enum: ['yes', 'no'] })?.shape).toBe('value');
  });

  it.each([
    ['no schema', undefined],
    ['a nested object', { type: 'object', properties: { address: { type: 'object', properties: {} } } }],
    ['an array', { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' } } } }],
    ['a union', { type: 'object', properties: { id: { oneOf: [{ type: 'string' }, { type: 'integer' }] } } }],
    ['a type list', { type: 'object', properties: { note: { type: ['string', 'null'] } } }],
    ['a required property it does not describe', { type: 'object', properties: {}, required: ['ghost'] }],
    ['an array at the top', { type: 'array' }],
    ['a reference', { $ref: '#/definitions/x' }],
  ])('should fall back to raw JSON for %s', (_what, schema) => {
    expect(planForm(schema)).toBeNull();
  });
});

describe('collect', () => {
  const plan = planForm(BOOKING) as FormPlan;

  it('should build the answer with typed values, leaving optional empty fields out', () => {
    const values = { ...initialValues(plan), city: 'Oslo', breakfast: true, floor: '2' };
    expect(collect(plan, values)).toEqual({ ok: true, value: { city: 'Oslo', nights: 2, breakfast: true, room: 'double', floor: 3 } });
  });

  it('should name what is wrong, field by field', () => {
    const values = { ...initialValues(plan), city: 'O', nights: '2.5', budget: 'cheap' };
    expect(collect(plan, values)).toEqual({ ok: false, errors: { city: 'at least 2 characters', nights: 'a whole number', budget: 'a number' } });
    expect(collect(plan, { ...initialValues(plan), nights: '' })).toEqual({ ok: false, errors: { city: 'required', nights: 'required' } });
    expect(collect(plan, { ...initialValues(plan), city: 'Oslo', nights: '31' })).toEqual({ ok: false, errors: { nights: 'at most 30' } });
  });

  it('should answer a single-value schema with the value itself, starting from the pending input\'s default', () => {
    const single = planForm({ type: 'number' }) as FormPlan;
    expect(initialValues(single, 4.5)).toEqual({ '': '4.5' });
    expect(collect(single, { '': '4.5' })).toEqual({ ok: true, value: 4.5 });
  });
});
