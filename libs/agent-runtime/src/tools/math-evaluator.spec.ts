import { MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MathError, evaluateMath } from './math-evaluator';

describe(evaluateMath.name, () => {
  it.each<[string, number]>([
    ['42', 42],
    ['  1 + 2 ', 3],
    ['2 + 3 * 4', 14],
    ['(2 + 3) * 4', 20],
    ['10 - 4 - 3', 3],
    ['100 / 10 / 5', 2],
    ['7 % 3', 1],
    ['2 ^ 10', 1024],
    ['2 ^ 3 ^ 2', 512],
    ['-2 ^ 2', -4],
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5],
    ['--3', 3],
    ['-+-3', 3],
    ['3 * -2', -6],
    ['1.5e3 + .5', 1500.5],
    ['2E-2', 0.02],
    ['min(3, 1, 2) + max(4, 9)', 10],
    ['abs(-7) + round(2.5) + floor(2.9) + ceil(2.1)', 15],
    ['sqrt(16) + pow(2, 3)', 12],
    ['round(pi * 100) / 100', 3.14],
    ['ln(e)', 1],
    ['log10(1000)', 3],
    ['MAX(1, 2)', 2],
    ['0 * -1', 0],
  ])('should evaluate %s to %d', (expression, expected) => {
    expect(evaluateMath(expression)).toBeCloseTo(expected, 10);
  });

  it('should never answer -0', () => {
    expect(Object.is(evaluateMath('0 * -1'), 0)).toBe(true);
  });

  it.each<[string, RegExp]>([
    ['', /empty/],
    ['1 +', /ends too early/],
    ['(1 + 2', /expected "\)"/],
    ['1 + 2)', /unexpected "\)"/],
    ['2 3', /unexpected "3"/],
    ['1 / 0', /division by zero/],
    ['5 % 0', /division by zero/],
    ['sqrt(-1)', /not a finite number/],
    ['10 ^ 400', /not a finite number/],
    ['foo(1)', /unknown function "foo"/],
    ['x + 1', /unknown name "x"/],
    ['min()', /unexpected "\)"/],
    ['abs(1, 2)', /abs takes 1 argument/],
    ['pow(2)', /pow takes 2 argument/],
    ['1 ; 2', /unexpected character ";"/],
    ['process.exit(1)', /unexpected character "\."|unknown/],
    ['constructor', /unknown name "constructor"/],
    ['__proto__', /unexpected character "_"/],
    ['tostring(1)', /unknown function "tostring"/],
    ['valueOf', /unknown name "valueof"/],
    ['1 = 1', /unexpected character "="/],
    ['"1"', /unexpected character/],
  ])('should refuse %j', (expression, message) => {
    expect(() => evaluateMath(expression)).toThrow(MathError);
    expect(() => evaluateMath(expression)).toThrow(message);
  });

  it('should give the position of the problem', () => {
    expect(() => evaluateMath('1 + $')).toThrow('unexpected character "$" at position 4');
  });

  it('should refuse an expression longer than the limit', () => {
    expect(() => evaluateMath('1+'.repeat(MAX_EXPRESSION_LENGTH))).toThrow(`longer than ${MAX_EXPRESSION_LENGTH}`);
  });

  it.each([
    ['parentheses', `${'('.repeat(MAX_EXPRESSION_DEPTH + 1)}1${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`],
    ['unary minus', `${'-'.repeat(MAX_EXPRESSION_DEPTH + 1)}1`],
    ['function calls', `${'abs('.repeat(MAX_EXPRESSION_DEPTH + 1)}1${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`],
  ])('should refuse %s nested past the depth limit instead of overflowing the stack', (_label, expression) => {
    expect(() => evaluateMath(expression)).toThrow(`nested deeper than ${MAX_EXPRESSION_DEPTH}`);
  });

  it('should accept nesting up to the depth limit', () => {
    const depth = MAX_EXPRESSION_DEPTH - 1;
    expect(evaluateMath(`${'('.repeat(depth)}1${')'.repeat(depth)}`)).toBe(1);
  });
});
