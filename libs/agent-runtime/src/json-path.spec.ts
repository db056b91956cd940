import type { JsonValue } from '@skreaver/contracts';

import { JsonPathError, getByPath, getByPointer, interpolate, pathSegments, renderTemplate } from './json-path';

const doc: JsonValue = { items: [{ name: 'a', 'x/y': 1, 'm~n': 2 }, { name: 'b' }], count: 2, nested: { deep: [null, true] } };

describe(getByPointer.name, () => {
  it.each([
    ['', doc],
    ['/count', 2],
    ['/items/1/name', 'b'],
    ['/items/0/x~1y', 1],
    ['/items/0/m~0n', 2],
    ['/nested/deep/0', null],
  ])('should find %j', (pointer, expected) => {
    expect(getByPointer(doc, pointer)).toEqual(expected);
  });

  it.each(['count', '/missing', '/items/2', '/items/01', '/items/-', '/count/x', '/__proto__', '/constructor'])('should refuse %j', (pointer) => {
    expect(() => getByPointer(doc, pointer)).toThrow(JsonPathError);
  });
});

describe(getByPath.name, () => {
  it.each([
    ['', doc],
    ['count', 2],
    ['items[1].name', 'b'],
    ['items.1.name', 'b'],
    ['nested.deep[1]', true],
  ])('should find %j', (path, expected) => {
    expect(getByPath(doc, path)).toEqual(expected);
  });

  it.each(['items..name', 'items.', 'items[x]', 'missing', 'items[5]', 'count.x', '.items', '__proto__.polluted'])('should refuse %j', (path) => {
    expect(() => getByPath(doc, path)).toThrow(JsonPathError);
  });

  it('should split a path into segments', () => {
    expect(pathSegments('a.b[0].c')).toEqual(['a', 'b', '0', 'c']);
  });
});

describe(renderTemplate.name, () => {
  const scope = { input: { city: 'Oslo', n: 3 }, steps: [{ result: { value: 5, list: [1, 2] } }] };

  it('should put the referenced value itself where a string is exactly one placeholder', () => {
    expect(renderTemplate({ a: '{{steps.0.result.value}}', b: '{{ input.n }}', c: '{{steps.0.result.list}}' }, scope)).toEqual({ a: 5, b: 3, c: [1, 2] });
  });

  it('should interpolate placeholders inside longer strings as text', () => {
    expect(renderTemplate('weather in {{input.city}}: {{steps.0.result.value}} {{steps.0.result.list}}', scope)).toBe('weather in Oslo: 5 [1,2]');
  });

  it('should fill arrays and nested objects and leave other values alone', () => {
    expect(renderTemplate([{ x: ['{{input.city}}', 1, null, true] }], scope)).toEqual([{ x: ['Oslo', 1, null, true] }]);
  });

  it('should refuse a placeholder that leads nowhere', () => {
    expect(() => renderTemplate('{{steps.1.result}}', scope)).toThrow('past the end');
  });

  it('should interpolate a whole-placeholder string as text when asked for text', () => {
    expect(interpolate('{{input.n}}', scope)).toBe('3');
  });
});

describe('renderTemplate with roots', () => {
  it('should fill only placeholders under the given roots and leave the others for later', () => {
    const scope = { input: { a: 1 } };

    expect(renderTemplate({ x: '{{input.a}}', y: 'Hi {{name}} {{input.a}}', z: '{{name}}' }, scope, { roots: ['input'] })).toEqual({ x: 1, y: 'Hi {{name}} 1', z: '{{name}}' });
  });
});
