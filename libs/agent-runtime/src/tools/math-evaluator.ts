/** Longest expression `evaluateMath` accepts, characters. */
export const MAX_EXPRESSION_LENGTH = 1_000;
/** Deepest nesting of parentheses, function calls and unary signs. */
export const MAX_EXPRESSION_DEPTH = 64;

/** An expression `evaluateMath` cannot evaluate; `position` is the 0-based character offset when known. */
export class MathError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(position === undefined ? message : `${message} at position ${position}`);
    this.name = 'MathError';
  }
}

const FUNCTIONS: Readonly<Record<string, { arity: [number, number]; fn: (...args: number[]) => number }>> = {
  abs: { arity: [1, 1], fn: Math.abs },
  round: { arity: [1, 1], fn: Math.round },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  exp: { arity: [1, 1], fn: Math.exp },
  ln: { arity: [1, 1], fn: Math.log },
  log10: { arity: [1, 1], fn: Math.log10 },
  min: { arity: [1, 100], fn: Math.min },
  max: { arity: [1, 100], fn: Math.max },
  pow: { arity: [2, 2], fn: Math.pow },
};
const CONSTANTS: Readonly<Record<string, number>> = { pi: Math.PI, e: Math.E };

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'op'; value: string; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source.charAt(i);
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const name = /^[a-z][a-z0-9]*/i.exec(source.slice(i));
    if (name) {
      tokens.push({ kind: 'name', value: name[0].toLowerCase(), at: i });
      i += name[0].length;
      continue;
    }
    if ('+-*/%^(),'.includes(char)) {
      tokens.push({ kind: 'op', value: char, at: i });
      i += 1;
      continue;
    }
    throw new MathError(`unexpected character "${char}"`, i);
  }
  return tokens;
}

/**
 * Recursive descent over this grammar (`^` binds tighter than unary minus and is right-associative, so `-2^2` is -4
 * and `2^3^2` is 512):
 *
 *   expression := term (('+' | '-') term)*
 *   term       := unary (('*' | '/' | '%') unary)*
 *   unary      := ('-' | '+') unary | power
 *   power      := primary ('^' unary)?
 *   primary    := number | constant | name '(' expression (',' expression)* ')' | '(' expression ')'
 */
class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  parse(): number {
    if (this.tokens.length === 0) throw new MathError('the expression is empty');
    const value = this.expression();
    const extra = this.peek();
    if (extra) throw new MathError(`unexpected "${String(extra.value)}"`, extra.at);
    return value;
  }

  private expression(): number {
    let value = this.term();
    for (let op = this.peekOp('+', '-'); op; op = this.peekOp('+', '-')) {
      this.index += 1;
      const right = this.term();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  }

  private term(): number {
    let value = this.unary();
    for (let op = this.peekOp('*', '/', '%'); op; op = this.peekOp('*', '/', '%')) {
      const at = this.tokens[this.index]?.at;
      this.index += 1;
      const right = this.unary();
      if ((op === '/' || op === '%') && right === 0) throw new MathError('division by zero', at);
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  }

  private unary(): number {
    const op = this.peekOp('+', '-');
    if (!op) return this.power();
    this.index += 1;
    return this.nested(() => (op === '-' ? -this.unary() : this.unary()));
  }

  private power(): number {
    const base = this.primary();
    if (!this.peekOp('^')) return base;
    this.index += 1;
    return this.nested(() => base ** this.unary());
  }

  private primary(): number {
    const token = this.next();
    if (token.kind === 'number') return token.value;
    if (token.kind === 'op' && token.value === '(') {
      const value = this.nested(() => this.expression());
      this.expect(')');
      return value;
    }
    if (token.kind === 'name') {
      if (!this.peekOp('(')) {
        // Own properties only: `constructor` must not find Object.prototype.constructor.
        const constant = Object.hasOwn(CONSTANTS, token.value) ? CONSTANTS[token.value] : undefined;
        if (constant === undefined) throw new MathError(`unknown name "${token.value}"`, token.at);
        return constant;
      }
      const fn = Object.hasOwn(FUNCTIONS, token.value) ? FUNCTIONS[token.value] : undefined;
      if (!fn) throw new MathError(`unknown function "${token.value}"`, token.at);
      this.index += 1;
      const args = this.nested(() => {
        const values = [this.expression()];
        while (this.peekOp(',')) {
          this.index += 1;
          values.push(this.expression());
        }
        return values;
      });
      this.expect(')');
      const [least, most] = fn.arity;
      if (args.length < least || args.length > most) {
        throw new MathError(`${token.value} takes ${least === most ? least : `${least} to ${most}`} argument(s), not ${args.length}`, token.at);
      }
      return fn.fn(...args);
    }
    throw new MathError(`unexpected "${token.value}"`, token.at);
  }

  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_EXPRESSION_DEPTH) throw new MathError(`nested deeper than ${MAX_EXPRESSION_DEPTH} levels`);
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private peekOp(...ops: string[]): string | undefined {
    const token = this.peek();
    return token?.kind === 'op' && ops.includes(token.value) ? token.value : undefined;
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (!token) throw new MathError('the expression ends too early', this.length);
    this.index += 1;
    return token;
  }

  private expect(op: string): void {
    const token = this.peek();
    if (token?.kind !== 'op' || token.value !== op) {
      throw new MathError(`expected "${op}"`, token?.at ?? this.length);
    }
    this.index += 1;
  }
}

/**
 * Evaluates an arithmetic expression: numbers (`2`, `0.5`, `1e3`), `+ - * / % ^`, parentheses, unary `-`/`+`, the
 * constants `pi` and `e`, and `abs round floor ceil sqrt exp ln log10 min max pow`. No variables, no `eval`.
 * @throws MathError when the expression is malformed, too long or deep, divides by zero, or is not finite.
 */
export function evaluateMath(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) throw new MathError(`the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const value = new Parser(tokenize(expression), expression.length).parse();
  if (!Number.isFinite(value)) throw new MathError('the result is not a finite number');
  // -0 is not JSON; 0 is what a person expects.
  return Object.is(value, -0) ? 0 : value;
}
