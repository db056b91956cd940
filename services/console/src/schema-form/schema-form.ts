import type { JsonValue } from '@skreaver/contracts';

// A pending input's JSON Schema as a form: an object whose properties are strings, numbers, integers, booleans or
// enums (required ones marked, defaults filled in), or one such value on its own. Anything else (nested objects,
// arrays, unions, references) is answered as raw JSON: the server checks every answer against the schema anyway.

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum';

export interface Field {
  /** The property name; '' for a schema that is a single value. */
  name: string;
  kind: FieldKind;
  label: string;
  description?: string;
  required: boolean;
  options?: JsonValue[];
  default?: JsonValue;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

/** How to ask for an answer: fields of an object, one value, or null (raw JSON). */
export type FormPlan = { shape: 'object'; fields: Field[] } | { shape: 'value'; field: Field };

/** What the inputs hold: text for text, number and enum fields (an enum option's index), a flag for booleans. */
export type FieldValues = Record<string, string | boolean>;

type Schema = Record<string, JsonValue>;

const isObject = (value: JsonValue | undefined): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: JsonValue | undefined): number | undefined => (typeof value === 'number' ? value : undefined);
const text = (value: JsonValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

function fieldOf(name: string, schema: JsonValue, required: boolean): Field | null {
  if (!isObject(schema)) return null;
  const base = {
    name,
    label: text(schema['title']) ?? name,
    description: text(schema['description']),
    required,
    ...(schema['default'] !== undefined ? { default: schema['default'] } : {}),
  };
  if (Array.isArray(schema['enum'])) {
    const options = schema['enum'];
    if (options.length === 0 || options.some((option) => isObject(option) || Array.isArray(option))) return null;
    return { ...base, kind: 'enum', options };
  }
  if (schema['const'] !== undefined || schema['oneOf'] || schema['anyOf'] || schema['allOf'] || schema['$ref']) return null;
  switch (schema['type']) {
    case 'string':
      return { ...base, kind: 'string', minLength: num(schema['minLength']), maxLength: num(schema['maxLength']) };
    case 'number':
    case 'integer':
      return { ...base, kind: schema['type'], minimum: num(schema['minimum']), maximum: num(schema['maximum']) };
    case 'boolean':
      return { ...base, kind: 'boolean' };
    default:
      return null;
  }
}

/** The form for `schema`, or null when it needs raw JSON. */
export function planForm(schema: JsonValue | undefined): FormPlan | null {
  if (!isObject(schema)) return null;
  if (schema['type'] === 'object' || (schema['type'] === undefined && isObject(schema['properties']))) {
    const properties = schema['properties'];
    if (!isObject(properties) || schema['oneOf'] || schema['anyOf'] || schema['allOf'] || schema['$ref']) return null;
    const required = Array.isArray(schema['required']) ? schema['required'].filter((name): name is string => typeof name === 'string') : [];
    const fields: Field[] = [];
    for (const [name, property] of Object.entries(properties)) {
      const field = fieldOf(name, property, required.includes(name));
      if (!field) return null;
      fields.push(field);
    }
    // A required property the schema does not describe cannot be asked for with a field.
    if (required.some((name) => !(name in properties))) return null;
    return { shape: 'object', fields };
  }
  const field = fieldOf('', schema, true);
  return field ? { shape: 'value', field: { ...field, label: field.label || 'Answer' } } : null;
}

export function fieldsOf(plan: FormPlan): Field[] {
  return plan.shape === 'object' ? plan.fields : [plan.field];
}

/** The inputs' starting values: the schema's defaults (else empty, unchecked, or no option chosen). */
export function initialValues(plan: FormPlan, answerDefault?: JsonValue): FieldValues {
  const values: FieldValues = {};
  const given = (field: Field): JsonValue | undefined => {
    if (field.default !== undefined) return field.default;
    // The pending input's own default (used if nobody answers) is a good first suggestion too.
    if (plan.shape === 'value') return answerDefault;
    return isObject(answerDefault) ? answerDefault[field.name] : undefined;
  };
  for (const field of fieldsOf(plan)) {
    const value = given(field);
    if (field.kind === 'boolean') values[field.name] = value === true;
    else if (field.kind === 'enum') {
      const index = value === undefined ? -1 : (field.options ?? []).findIndex((option) => JSON.stringify(option) === JSON.stringify(value));
      values[field.name] = index >= 0 ? String(index) : '';
    } else values[field.name] = value === undefined || value === null ? '' : String(value);
  }
  return values;
}

export type Collected = { ok: true; value: JsonValue } | { ok: false; errors: Record<string, string> };

function valueOf(field: Field, raw: string | boolean | undefined): { value?: JsonValue; error?: string } {
  if (field.kind === 'boolean') return { value: raw === true };
  const input = typeof raw === 'string' ? raw : '';
  if (input === '') return field.required ? { error: 'required' } : {};
  switch (field.kind) {
    case 'enum': {
      const option = field.options?.[Number(input)];
      return option === undefined ? { error: 'choose one of the options' } : { value: option };
    }
    case 'string':
      if (field.minLength !== undefined && input.length < field.minLength) return { error: `at least ${field.minLength} characters` };
      if (field.maxLength !== undefined && input.length > field.maxLength) return { error: `at most ${field.maxLength} characters` };
      return { value: input };
    case 'number':
    case 'integer': {
      const number = Number(input.trim());
      if (input.trim() === '' || !Number.isFinite(number)) return { error: 'a number' };
      if (field.kind === 'integer' && !Number.isInteger(number)) return { error: 'a whole number' };
      if (field.minimum !== undefined && number < field.minimum) return { error: `at least ${field.minimum}` };
      if (field.maximum !== undefined && number > field.maximum) return { error: `at most ${field.maximum}` };
      return { value: number };
    }
  }
}

/** The answer the inputs make, or what is wrong with them (by field name). Optional empty fields are left out. */
export function collect(plan: FormPlan, values: FieldValues): Collected {
  const errors: Record<string, string> = {};
  const answer: Record<string, JsonValue> = {};
  for (const field of fieldsOf(plan)) {
    const { value, error } = valueOf(field, values[field.name]);
    if (error) errors[field.name] = error;
    else if (value !== undefined) answer[field.name] = value;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: plan.shape === 'object' ? answer : (answer[''] ?? null) };
}
