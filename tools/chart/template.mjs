// A Go text/template interpreter for the subset of Go templates and Helm/Sprig functions that charts/skreaver uses.
// Helm cannot be installed here, so `npm run chart:render` and the chart tests render with this instead. Faithful
// where Helm users get bitten: values are float64 (so 1048576 prints as 1.048576e+06 unless piped through `int`
// or toYaml), integer literals are ints (so `eq .Values.n 1` is the same error Helm reports), missing map keys
// are nil and a field of nil is an error, range visits map keys in sorted order, `{{-`/`-}}` trim whitespace,
// variables are block scoped, and YAML is read and written as YAML 1.1 like Helm's go-yaml. Anything outside the
// subset (an unknown function, keyword or syntax) is a parse error, never a silent difference.
import { createHash } from 'node:crypto';

import YAML from 'yaml';

export class TemplateError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Marks an object whose missing fields are an error (Go structs such as .Release and .Chart), not nil. */
export const STRUCT = Symbol('struct');

// ---------------------------------------------------------------------------------------------------------------
// Lexing: text and actions, with trim markers and comments.

const SPACE = /[ \t\r\n]/;

function lexActions(source, name) {
  const items = [];
  let pos = 0;
  let line = 1;
  let trimNext = false;
  const countLines = (from, to) => {
    for (let i = from; i < to; i++) if (source[i] === '\n') line++;
  };
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    let text = open === -1 ? source.slice(pos) : source.slice(pos, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open === -1) {
      if (text) items.push({ kind: 'text', text });
      break;
    }
    let bodyStart = open + 2;
    if (source[bodyStart] === '-' && SPACE.test(source[bodyStart + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      bodyStart += 2;
    }
    if (text) items.push({ kind: 'text', text });
    countLines(pos, open);
    const startLine = line;
    // Find the closing delimiter, skipping string, raw string and char literals and comments.
    let i = bodyStart;
    let close = -1;
    let trimRight = false;
    while (i < source.length) {
      const c = source[i];
      if (c === '"' || c === "'") {
        i++;
        while (i < source.length && source[i] !== c) {
          if (source[i] === '\\') i++;
          if (source[i] === '\n') throw new TemplateError(`${name}:${line}: unterminated quoted string`);
          i++;
        }
        i++;
      } else if (c === '`') {
        const end = source.indexOf('`', i + 1);
        if (end === -1) throw new TemplateError(`${name}:${line}: unterminated raw string`);
        i = end + 1;
      } else if (c === '/' && source[i + 1] === '*') {
        const end = source.indexOf('*/', i + 2);
        if (end === -1) throw new TemplateError(`${name}:${line}: unclosed comment`);
        i = end + 2;
      } else if (c === ' ' && source.startsWith('-}}', i + 1)) {
        close = i;
        trimRight = true;
        break;
      } else if ((c === '\t' || c === '\r' || c === '\n') && source.startsWith('-}}', i + 1)) {
        close = i;
        trimRight = true;
        break;
      } else if (c === '}' && source[i + 1] === '}') {
        close = i;
        break;
      } else {
        i++;
      }
    }
    if (close === -1) throw new TemplateError(`${name}:${startLine}: unclosed action`);
    const body = source.slice(bodyStart, close);
    const end = trimRight ? close + 4 : close + 2;
    countLines(open, end);
    const trimmed = body.trimStart();
    if (trimmed.startsWith('/*')) {
      // Go requires the comment to touch the delimiters (or the trim markers).
      if (!body.startsWith('/*') || !body.endsWith('*/')) {
        throw new TemplateError(`${name}:${startLine}: comment ends before closing delimiter`);
      }
    } else {
      items.push({ kind: 'action', body, line: startLine });
    }
    trimNext = trimRight;
    pos = end;
  }
  return items;
}

// Tokens inside one action.
function tokenize(body, where) {
  const tokens = [];
  let i = 0;
  const fail = (message) => {
    throw new TemplateError(`${where}: ${message} in {{${body}}}`);
  };
  while (i < body.length) {
    const c = body[i];
    if (SPACE.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      tokens.push({ t: c });
      i++;
      // `(...).Field` chains a field access onto the parenthesised result (no space allowed before the dot).
      if (c === ')' && body[i] === '.') {
        const m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(body.slice(i));
        if (m) {
          tokens.push({ t: 'chain', chain: m[0].slice(1).split('.') });
          i += m[0].length;
        }
      }
    } else if (c === ':' && body[i + 1] === '=') {
      tokens.push({ t: ':=' });
      i += 2;
    } else if (c === '=') {
      tokens.push({ t: '=' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      if (j >= body.length) fail('unterminated string');
      tokens.push({ t: 'lit', value: unquote(body.slice(i, j + 1), fail) });
      i = j + 1;
    } else if (c === '`') {
      const j = body.indexOf('`', i + 1);
      tokens.push({ t: 'lit', value: body.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(body.slice(i));
      const fields = /^(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(body.slice(i + m[0].length))[0];
      tokens.push({ t: 'var', name: m[0], chain: fields ? fields.slice(1).split('.') : [] });
      i += m[0].length + fields.length;
    } else if (c === '.') {
      const m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(body.slice(i));
      if (m) {
        tokens.push({ t: 'field', chain: m[0].slice(1).split('.') });
        i += m[0].length;
      } else {
        tokens.push({ t: 'dot' });
        i++;
      }
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?)/.exec(body.slice(i));
      if (!m) fail(`bad number syntax at "${body.slice(i, i + 10)}"`);
      const text = m[0].replace(/_/g, '');
      const isFloat = /[.eE]/.test(text) && !/^[-+]?0x/.test(text);
      tokens.push({ t: 'lit', value: isFloat ? Number(text) : BigInt(text) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i));
      const word = m[0];
      if (word === 'true' || word === 'false') tokens.push({ t: 'lit', value: word === 'true' });
      else if (word === 'nil') tokens.push({ t: 'nil' });
      else tokens.push({ t: 'ident', name: word });
      i += word.length;
    } else {
      fail(`unexpected "${c}"`);
    }
  }
  return tokens;
}

function unquote(literal, fail) {
  try {
    // Go's escapes that JSON lacks: \a \v \x.. \' ; the rest match JSON.
    const jsonish = literal
      .replace(/\\a/g, '\\u0007')
      .replace(/\\v/g, '\\u000b')
      .replace(/\\'/g, "'")
      .replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1');
    return JSON.parse(jsonish);
  } catch {
    return fail(`bad string ${literal}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing to a tree.

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function parsePipeline(tokens, where, allowDecl = true) {
  let pos = 0;
  const decl = [];
  let assign = false;
  if (allowDecl && tokens[0]?.t === 'var' && tokens[0].chain.length === 0) {
    // `$x :=`, `$x =`, `$k, $v :=` (range only)
    const names = [tokens[0].name];
    let j = 1;
    if (tokens[1]?.t === ',' && tokens[2]?.t === 'var' && tokens[2].chain.length === 0) {
      names.push(tokens[2].name);
      j = 3;
    }
    if (tokens[j]?.t === ':=' || tokens[j]?.t === '=') {
      decl.push(...names);
      assign = tokens[j].t === '=';
      pos = j + 1;
    }
  }
  // Recursive descent over commands separated by "|", with "( pipeline )" operands.
  const parseCommands = (closing) => {
    const commands = [];
    let current = [];
    for (;;) {
      const token = tokens[pos];
      if (token === undefined) {
        if (closing) throw new TemplateError(`${where}: unclosed "("`);
        break;
      }
      pos++;
      if (token.t === ')') {
        if (!closing) throw new TemplateError(`${where}: unexpected ")"`);
        break;
      }
      if (token.t === '(') {
        const inner = { decl: [], assign: false, commands: parseCommands(true) };
        let chain = [];
        if (tokens[pos]?.t === 'chain') chain = tokens[pos++].chain;
        current.push({ t: 'sub', pipeline: inner, chain });
      } else if (token.t === '|') {
        if (!current.length) throw new TemplateError(`${where}: missing command before "|"`);
        commands.push(current);
        current = [];
      } else if (token.t === 'ident' && KEYWORDS.has(token.name)) {
        throw new TemplateError(`${where}: unexpected keyword "${token.name}" in pipeline`);
      } else if (token.t === ':=' || token.t === '=' || token.t === ',' || token.t === 'chain') {
        throw new TemplateError(`${where}: unexpected "${token.t}" in pipeline`);
      } else {
        current.push(token);
      }
    }
    if (!current.length) throw new TemplateError(`${where}: missing value for command`);
    commands.push(current);
    return commands;
  };
  const commands = parseCommands(false);
  return { decl, assign, commands };
}

/** Parses `source` into { root, defines }; `name` is used in messages. */
export function parseTemplate(source, name, knownFunctions) {
  const items = lexActions(source, name);
  const defines = new Map();
  const root = { nodes: [] };
  // Stack of open blocks: { kind, node, list }.
  const stack = [{ kind: 'root', list: root.nodes }];
  const top = () => stack[stack.length - 1];
  const checkFunctions = (pipeline, where) => {
    for (const command of pipeline.commands) {
      command.forEach((arg, index) => {
        if (arg.t === 'ident') {
          if (index !== 0) throw new TemplateError(`${where}: function "${arg.name}" used as an argument; wrap it in (...)`);
          if (!knownFunctions.has(arg.name)) throw new TemplateError(`${where}: function "${arg.name}" not defined`);
        }
        if (arg.t === 'sub') checkFunctions(arg.pipeline, where);
      });
    }
  };
  for (const item of items) {
    if (item.kind === 'text') {
      top().list.push({ t: 'text', text: item.text });
      continue;
    }
    const where = `${name}:${item.line}`;
    const tokens = tokenize(item.body, where);
    if (!tokens.length) throw new TemplateError(`${where}: missing value for command`);
    const head = tokens[0].t === 'ident' && KEYWORDS.has(tokens[0].name) ? tokens[0].name : null;
    const rest = tokens.slice(1);
    if (head === 'if' || head === 'with' || head === 'range') {
      const pipeline = parsePipeline(rest, where);
      checkFunctions(pipeline, where);
      if (head === 'range' && pipeline.assign) throw new TemplateError(`${where}: range can only declare variables with :=`);
      if (head !== 'range' && pipeline.decl.length > 1) throw new TemplateError(`${where}: too many declarations in ${head}`);
      const node = { t: head, pipeline, body: [], else: null, where };
      top().list.push(node);
      stack.push({ kind: head, node, list: node.body });
    } else if (head === 'else') {
      const open = top();
      if (!['if', 'with', 'range'].includes(open.kind)) throw new TemplateError(`${where}: unexpected {{else}}`);
      if (open.node.else) throw new TemplateError(`${where}: {{else}} after {{else}}`);
      if (rest[0]?.t === 'ident' && rest[0].name === 'if') {
        if (open.kind !== 'if') throw new TemplateError(`${where}: {{else if}} inside ${open.kind}`);
        // `else if` is an `if` nested in the else branch that shares the outer `end`.
        const pipeline = parsePipeline(rest.slice(1), where);
        checkFunctions(pipeline, where);
        const nested = { t: 'if', pipeline, body: [], else: null, where };
        open.node.else = [nested];
        stack.push({ kind: 'if', node: nested, list: nested.body, chained: true });
      } else {
        if (rest.length) throw new TemplateError(`${where}: unexpected tokens after else`);
        open.node.else = [];
        open.list = open.node.else;
      }
    } else if (head === 'end') {
      if (rest.length) throw new TemplateError(`${where}: unexpected tokens after end`);
      // Pop the whole `else if` chain.
      let open = stack.pop();
      while (open.chained) open = stack.pop();
      if (open.kind === 'root') throw new TemplateError(`${where}: unexpected {{end}}`);
      if (open.kind === 'define') defines.set(open.name, open.node);
    } else if (head === 'define') {
      if (stack.length !== 1) throw new TemplateError(`${where}: define must be at top level`);
      if (rest.length !== 1 || rest[0].t !== 'lit' || typeof rest[0].value !== 'string') {
        throw new TemplateError(`${where}: define needs one quoted name`);
      }
      const node = { nodes: [] };
      stack.push({ kind: 'define', name: rest[0].value, node, list: node.nodes });
    } else if (head === 'template') {
      if (rest[0]?.t !== 'lit' || typeof rest[0].value !== 'string') throw new TemplateError(`${where}: template needs a quoted name`);
      const pipeline = rest.length > 1 ? parsePipeline(rest.slice(1), where, false) : null;
      if (pipeline) checkFunctions(pipeline, where);
      top().list.push({ t: 'template', name: rest[0].value, pipeline, where });
    } else if (head) {
      throw new TemplateError(`${where}: {{${head}}} is not supported by this renderer`);
    } else {
      const pipeline = parsePipeline(tokens, where);
      checkFunctions(pipeline, where);
      top().list.push({ t: 'action', pipeline, where });
    }
  }
  if (stack.length !== 1) throw new TemplateError(`${name}: unexpected EOF (missing {{end}} for ${top().kind})`);
  // Go: a template file holding only defines and whitespace defines nothing else.
  return { root, defines };
}

// ---------------------------------------------------------------------------------------------------------------
// Values: Go kinds of JS values.

const isInt = (v) => typeof v === 'bigint';
const isFloat = (v) => typeof v === 'number';
const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
const isNil = (v) => v === null || v === undefined;

function kindOf(v) {
  if (isNil(v)) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (isInt(v)) return 'int';
  if (isFloat(v)) return 'float64';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'function') return 'func';
  return 'map';
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v) {
  if (isNil(v)) return false;
  if (typeof v === 'boolean') return v;
  if (isInt(v)) return v !== 0n;
  if (isFloat(v)) return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), which `%v` uses: exponent form from 1e+06 up and below 1e-04. */
export function formatFloat(f) {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa, expText] = f.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${mantissa}e${sign}${abs < 10 ? `0${abs}` : abs}`;
  }
  // Plain notation with the shortest digits (JS and Go both print the shortest round-tripping digits).
  return String(f);
}

/** fmt's %v. */
export function formatValue(v) {
  if (isNil(v)) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (isInt(v)) return v.toString();
  if (isFloat(v)) return formatFloat(v);
  if (Array.isArray(v)) return `[${v.map(formatInner).join(' ')}]`;
  if (isMap(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${formatInner(v[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

// Inside a composite, nil prints as <nil>.
const formatInner = (v) => (isNil(v) ? '<nil>' : formatValue(v));

// Sprig's strval.
const strval = (v) => (typeof v === 'string' ? v : isNil(v) ? '<nil>' : formatValue(v));

function toInt64(v) {
  if (isInt(v)) return v;
  if (isFloat(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isFinite(n) ? BigInt(Math.trunc(n)) : 0n;
  }
  return 0n;
}

function toFloat64(v) {
  if (isInt(v)) return Number(v);
  if (isFloat(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return Number(v) || 0;
  return 0;
}

function goQuote(s) {
  return JSON.stringify(s).replace(/[\u007f]/g, '\\x7f');
}

// Values crossing into YAML/JSON: ints become plain numbers again.
function plain(v) {
  if (isInt(v)) return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (isMap(v)) return Object.fromEntries(Object.keys(v).map((k) => [k, plain(v[k])]));
  return v;
}

function sortedDeep(v) {
  if (Array.isArray(v)) return v.map(sortedDeep);
  if (isMap(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedDeep(v[k])]));
  return v;
}

/** Helm's toYaml: sigs.k8s.io/yaml (keys sorted, sequences not indented), trailing newline trimmed. */
export function toYaml(v) {
  if (isNil(v)) return 'null';
  const text = YAML.stringify(sortedDeep(plain(v)), { version: '1.1', indentSeq: false, lineWidth: 0, nullStr: 'null' });
  return text.replace(/\n$/, '');
}

/** Go's encoding/json with sorted keys and HTML escaping, as Sprig's toJson. */
export function toJson(v) {
  return JSON.stringify(sortedDeep(plain(v)) ?? null)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

function compareEq(a, b, where) {
  if (isNil(a) || isNil(b)) return isNil(a) && isNil(b);
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) throw new TemplateError(`${where}: error calling eq: incompatible types for comparison`);
  if (ka === 'slice' || ka === 'map' || ka === 'func') throw new TemplateError(`${where}: error calling eq: non-comparable type`);
  return a === b;
}

function compareLt(a, b, where, name) {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || !['int', 'float64', 'string'].includes(ka)) {
    throw new TemplateError(`${where}: error calling ${name}: incompatible types for comparison`);
  }
  return a < b;
}

function sprintf(format, args) {
  let index = 0;
  return format.replace(/%([-+# 0]*)(\d*)(?:\.(\d+))?([%vsdqtfx])/g, (match, _flags, width, precision, verb) => {
    if (verb === '%') return '%';
    if (index >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[index++];
    let out;
    switch (verb) {
      case 'v':
        out = formatValue(arg);
        break;
      case 's':
        out = typeof arg === 'string' ? arg : formatValue(arg);
        break;
      case 'q':
        out = goQuote(typeof arg === 'string' ? arg : formatValue(arg));
        break;
      case 'd':
        out = isInt(arg) ? arg.toString() : `%!d(${kindOf(arg)}=${formatValue(arg)})`;
        break;
      case 't':
        out = typeof arg === 'boolean' ? String(arg) : `%!t(${kindOf(arg)}=${formatValue(arg)})`;
        break;
      case 'f':
        out = toFloat64(arg).toFixed(precision === undefined ? 6 : Number(precision));
        break;
      case 'x':
        out = isInt(arg) ? arg.toString(16) : Buffer.from(String(arg)).toString('hex');
        break;
      default:
        out = match;
    }
    return width ? out.padStart(Number(width)) : out;
  });
}

function indent(spaces, text) {
  const pad = ' '.repeat(Number(toInt64(spaces)));
  return pad + String(text).replace(/\n/g, `\n${pad}`);
}

function empty(v) {
  return !truth(v);
}

// ---------------------------------------------------------------------------------------------------------------
// Functions: Go's builtins plus the Sprig/Helm functions the chart uses.

function buildFunctions(engine) {
  const f = {
    // Go builtins
    and: null, // short-circuit, handled by the evaluator
    or: null,
    not: (v) => !truth(v),
    len: (v) => {
      if (typeof v === 'string' || Array.isArray(v)) return BigInt(v.length);
      if (isMap(v)) return BigInt(Object.keys(v).length);
      throw new TemplateError(`len of ${kindOf(v)}`);
    },
    index: (v, ...keys) => {
      let current = v;
      for (const key of keys) {
        if (isNil(current)) throw new TemplateError('index of untyped nil');
        if (Array.isArray(current)) {
          const i = Number(toInt64(key));
          if (i < 0 || i >= current.length) throw new TemplateError(`index out of range: ${i}`);
          current = current[i];
        } else if (isMap(current)) {
          current = Object.prototype.hasOwnProperty.call(current, key) ? current[key] : null;
        } else {
          throw new TemplateError(`can't index item of type ${kindOf(current)}`);
        }
      }
      return current;
    },
    print: (...args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + formatValue(a)).join(''),
    printf: (format, ...args) => sprintf(format, args),
    eq: null,
    ne: null,
    lt: null,
    le: null,
    gt: null,
    ge: null,
    // Sprig: strings
    quote: (...args) => args.filter((a) => !isNil(a)).map((a) => goQuote(strval(a))).join(' '),
    squote: (...args) => args.filter((a) => !isNil(a)).map((a) => `'${strval(a)}'`).join(' '),
    lower: (s) => String(s).toLowerCase(),
    upper: (s) => String(s).toUpperCase(),
    trim: (s) => String(s).trim(),
    trunc: (n, s) => {
      const c = Number(toInt64(n));
      const str = String(s);
      if (c < 0 && str.length + c > 0) return str.slice(str.length + c);
      if (c >= 0 && str.length > c) return str.slice(0, c);
      return str;
    },
    trimSuffix: (suffix, s) => (String(s).endsWith(suffix) && suffix ? String(s).slice(0, -suffix.length) : String(s)),
    trimPrefix: (prefix, s) => (String(s).startsWith(prefix) ? String(s).slice(prefix.length) : String(s)),
    replace: (old, neu, s) => String(s).split(old).join(neu),
    contains: (sub, s) => String(s).includes(sub),
    hasPrefix: (prefix, s) => String(s).startsWith(prefix),
    hasSuffix: (suffix, s) => String(s).endsWith(suffix),
    join: (sep, list) => (Array.isArray(list) ? list.map(strval).join(sep) : strval(list)),
    toString: (v) => strval(v),
    b64enc: (s) => Buffer.from(String(s)).toString('base64'),
    sha256sum: (s) => createHash('sha256').update(String(s)).digest('hex'),
    // Sprig: numbers (int64 arithmetic, like Sprig)
    int: (v) => toInt64(v),
    int64: (v) => toInt64(v),
    float64: (v) => toFloat64(v),
    add: (...args) => args.reduce((a, b) => a + toInt64(b), 0n),
    add1: (v) => toInt64(v) + 1n,
    sub: (a, b) => toInt64(a) - toInt64(b),
    mul: (...args) => args.reduce((a, b) => a * toInt64(b), 1n),
    div: (a, b) => {
      const d = toInt64(b);
      if (d === 0n) throw new TemplateError('integer divide by zero');
      return toInt64(a) / d;
    },
    mod: (a, b) => toInt64(a) % toInt64(b),
    max: (...args) => args.map(toInt64).reduce((a, b) => (b > a ? b : a)),
    min: (...args) => args.map(toInt64).reduce((a, b) => (b < a ? b : a)),
    // Sprig: defaults and flow
    default: (fallback, ...given) => (given.length === 0 || empty(given[0]) ? fallback : given[0]),
    empty: (v) => empty(v),
    coalesce: (...args) => args.find((a) => !empty(a)) ?? null,
    ternary: (yes, no, condition) => (truth(condition) ? yes : no),
    fail: (message) => {
      throw new TemplateError(`fail: ${message}`);
    },
    // Sprig: collections
    list: (...items) => items,
    dict: (...pairs) => {
      const out = {};
      for (let i = 0; i < pairs.length; i += 2) out[strval(pairs[i])] = i + 1 < pairs.length ? pairs[i + 1] : '';
      return out;
    },
    set: (map, key, value) => {
      if (!isMap(map)) throw new TemplateError(`set on ${kindOf(map)}`);
      map[key] = value;
      return map;
    },
    has: (needle, list) => Array.isArray(list) && list.some((item) => item === needle),
    get: (map, key) => (isMap(map) && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : ''),
    hasKey: (map, key) => isMap(map) && Object.prototype.hasOwnProperty.call(map, key),
    keys: (...maps) => maps.flatMap((m) => Object.keys(m)),
    sortAlpha: (list) => [...(Array.isArray(list) ? list : [list])].map(strval).sort(),
    kindIs: (kind, v) => kindOf(v) === kind,
    // Helm
    toYaml: (v) => toYaml(v),
    toJson: (v) => toJson(v),
    include: (name, data) => engine.include(name, data),
    required: (message, v) => {
      if (isNil(v) || v === '') throw new TemplateError(`execution error: ${message}`);
      return v;
    },
    nindent: (spaces, text) => `\n${indent(spaces, text)}`,
    indent: (spaces, text) => indent(spaces, text),
  };
  return f;
}

export const FUNCTION_NAMES = new Set(Object.keys(buildFunctions({ include: () => '' })));

// ---------------------------------------------------------------------------------------------------------------
// Execution.

class Scope {
  constructor(parent) {
    this.parent = parent;
    this.vars = new Map();
  }
  /** The innermost scope declaring `name`. */
  owner(name, where) {
    if (this.vars.has(name)) return this;
    if (this.parent) return this.parent.owner(name, where);
    throw new TemplateError(`${where}: undefined variable: ${name}`);
  }
  lookup(name, where) {
    return this.owner(name, where).vars.get(name);
  }
  assign(name, value, where) {
    this.owner(name, where).vars.set(name, value);
  }
}

function fieldOf(value, name, where, path) {
  if (isNil(value)) throw new TemplateError(`${where}: nil pointer evaluating interface {}.${name}`);
  if (isMap(value)) {
    if (Object.prototype.hasOwnProperty.call(value, name)) return value[name];
    if (value[STRUCT]) throw new TemplateError(`${where}: can't evaluate field ${name} in ${path}`);
    return null;
  }
  throw new TemplateError(`${where}: can't evaluate field ${name} in type ${kindOf(value)}`);
}

/** A set of templates sharing defines (as Helm parses every file of a chart into one set). */
export class TemplateSet {
  constructor() {
    this.files = new Map();
    this.defines = new Map();
    this.functions = buildFunctions(this);
    this.depth = 0;
  }

  /** Parses one file; its defines become visible to every file. */
  add(name, source) {
    const { root, defines } = parseTemplate(source, name, FUNCTION_NAMES);
    this.files.set(name, root);
    for (const [defineName, node] of defines) this.defines.set(defineName, node);
  }

  /** Executes file `name` with `data` as dot and `$`. */
  execute(name, data) {
    const root = this.files.get(name);
    if (!root) throw new TemplateError(`no template file ${name}`);
    const out = [];
    try {
      this.run(root.nodes, data, new Scope(new ScopeRoot(data)), out);
    } catch (error) {
      if (error instanceof TemplateError) error.message = `${error.message}\n  in ${name}`;
      throw error;
    }
    return out.join('');
  }

  include(name, data) {
    const node = this.defines.get(name);
    if (!node) throw new TemplateError(`error calling include: template: no template "${name}" associated with template "gotpl"`);
    if (++this.depth > 100) throw new TemplateError(`include "${name}": recursion too deep`);
    try {
      const out = [];
      this.run(node.nodes, data, new Scope(new ScopeRoot(data)), out);
      return out.join('');
    } catch (error) {
      if (error instanceof TemplateError && !error.message.includes(`include "${name}"`)) {
        error.message = `${error.message}\n  in include "${name}"`;
      }
      throw error;
    } finally {
      this.depth--;
    }
  }

  run(nodes, dot, scope, out) {
    for (const node of nodes) {
      switch (node.t) {
        case 'text':
          out.push(node.text);
          break;
        case 'action': {
          const value = this.pipeline(node.pipeline, dot, scope, node.where);
          if (node.pipeline.decl.length === 0) out.push(formatValue(value));
          break;
        }
        case 'if': {
          const inner = new Scope(scope);
          const value = this.pipeline(node.pipeline, dot, inner, node.where);
          if (truth(value)) this.run(node.body, dot, inner, out);
          else if (node.else) this.run(node.else, dot, inner, out);
          break;
        }
        case 'with': {
          const inner = new Scope(scope);
          const value = this.pipeline(node.pipeline, dot, inner, node.where);
          if (truth(value)) this.run(node.body, value, inner, out);
          else if (node.else) this.run(node.else, dot, inner, out);
          break;
        }
        case 'range':
          this.range(node, dot, scope, out);
          break;
        case 'template': {
          const data = node.pipeline ? this.pipeline(node.pipeline, dot, new Scope(scope), node.where) : null;
          out.push(this.include(node.name, data));
          break;
        }
        default:
          throw new TemplateError(`unknown node ${node.t}`);
      }
    }
  }

  range(node, dot, scope, out) {
    const { decl, commands } = node.pipeline;
    const value = this.pipeline({ decl: [], assign: false, commands }, dot, scope, node.where);
    let entries;
    if (isNil(value)) entries = [];
    else if (Array.isArray(value)) entries = value.map((v, i) => [BigInt(i), v]);
    else if (isMap(value)) entries = Object.keys(value).sort().map((k) => [k, value[k]]);
    else if (isInt(value)) entries = Array.from({ length: Number(value) }, (_, i) => [BigInt(i), BigInt(i)]);
    else throw new TemplateError(`${node.where}: range can't iterate over ${formatValue(value)}`);
    if (!entries.length) {
      if (node.else) this.run(node.else, dot, new Scope(scope), out);
      return;
    }
    for (const [key, element] of entries) {
      const inner = new Scope(scope);
      if (decl.length === 1) inner.vars.set(decl[0], element);
      if (decl.length === 2) {
        inner.vars.set(decl[0], key);
        inner.vars.set(decl[1], element);
      }
      this.run(node.body, element, inner, out);
    }
  }

  pipeline(pipeline, dot, scope, where) {
    let value;
    let hasFinal = false;
    for (const command of pipeline.commands) {
      value = this.command(command, dot, scope, where, hasFinal, value);
      hasFinal = true;
    }
    if (pipeline.decl.length) {
      if (pipeline.decl.length > 1) throw new TemplateError(`${where}: too many declarations`);
      if (pipeline.assign) scope.assign(pipeline.decl[0], value, where);
      else scope.vars.set(pipeline.decl[0], value);
    }
    return value;
  }

  arg(node, dot, scope, where) {
    switch (node.t) {
      case 'lit':
        return node.value;
      case 'nil':
        return null;
      case 'dot':
        return dot;
      case 'field':
        return node.chain.reduce((v, name) => fieldOf(v, name, where, '.' + node.chain.join('.')), dot);
      case 'var':
        return node.chain.reduce((v, name) => fieldOf(v, name, where, node.name), scope.lookup(node.name, where));
      case 'sub': {
        const v = this.pipeline(node.pipeline, dot, new Scope(scope), where);
        return node.chain.reduce((acc, name) => fieldOf(acc, name, where, '(...)'), v);
      }
      case 'ident':
        throw new TemplateError(`${where}: function ${node.name} used as a value`);
      default:
        throw new TemplateError(`${where}: unexpected ${node.t}`);
    }
  }

  command(command, dot, scope, where, hasFinal, final) {
    const [head, ...rest] = command;
    if (head.t === 'ident') {
      const name = head.name;
      const evalArg = (node) => this.arg(node, dot, scope, where);
      // and/or short-circuit (Go 1.18+): evaluate lazily.
      if (name === 'and' || name === 'or') {
        const thunks = rest.map((node) => () => evalArg(node));
        if (hasFinal) thunks.push(() => final);
        if (!thunks.length) throw new TemplateError(`${where}: wrong number of args for ${name}`);
        let v;
        for (const thunk of thunks) {
          v = thunk();
          if (name === 'and' ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      const args = rest.map(evalArg);
      if (hasFinal) args.push(final);
      const at = `${where}: error calling ${name}`;
      switch (name) {
        case 'eq':
          if (args.length < 2) throw new TemplateError(`${at}: missing argument for comparison`);
          return args.slice(1).some((b) => compareEq(args[0], b, where));
        case 'ne':
          return !compareEq(args[0], args[1], where);
        case 'lt':
          return compareLt(args[0], args[1], where, name);
        case 'le':
          return compareLt(args[0], args[1], where, name) || compareEq(args[0], args[1], where);
        case 'gt':
          return !compareLt(args[0], args[1], where, name) && !compareEq(args[0], args[1], where);
        case 'ge':
          return !compareLt(args[0], args[1], where, name);
        default: {
          const fn = this.functions[name];
          try {
            return fn(...args);
          } catch (error) {
            if (error instanceof TemplateError && /^[^:]+:\d+:/.test(error.message)) throw error;
            throw new TemplateError(`${at}: ${error.message}`);
          }
        }
      }
    }
    // A method value (e.g. .Files.Get) is called with the arguments.
    if (rest.length || hasFinal) {
      const target = head.t === 'field' || head.t === 'var' ? this.methodOf(head, dot, scope, where) : null;
      if (!target) throw new TemplateError(`${where}: can't give argument to non-function`);
      const args = rest.map((node) => this.arg(node, dot, scope, where));
      if (hasFinal) args.push(final);
      return target(...args);
    }
    const value = this.arg(head, dot, scope, where);
    if (typeof value === 'function') return value();
    return value;
  }

  methodOf(node, dot, scope, where) {
    const value = this.arg(node, dot, scope, where);
    return typeof value === 'function' ? value : null;
  }
}

// `$` is the data the template was executed with.
class ScopeRoot extends Scope {
  constructor(data) {
    super(null);
    this.vars.set('$', data);
  }
}
