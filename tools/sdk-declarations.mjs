// Type declarations of a package published outside the workspace (the SDK): `tsc` emits its sources' .d.ts, and
// the module that re-exports types of libs/contracts (`src/contracts.ts`) is replaced by those types written out
// structurally (objects, unions, literals), so the published package names neither @skreaver/contracts nor zod.
// No bundler or API extractor in the repo: the TypeScript compiler's own checker does the expansion.
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

const require = createRequire(import.meta.url);

/** Every file under `dir` (recursively) whose name passes `keep`; none when `dir` does not exist. */
async function filesUnder(dir, keep) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && keep(entry.name)).map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

/**
 * The declarations already in `<projectDir>/dist` (path relative to dist → text), when they are newer than
 * everything they are made of (the project's sources, the contracts, this script, the TypeScript and zod
 * versions); undefined when they must be written again. Writing them takes a type checker over contracts and zod
 * (~5 s of CPU): a build that changed neither keeps them.
 */
export async function reusableDeclarations(projectDir) {
  const root = join(projectDir, '..', '..');
  const dist = join(projectDir, 'dist');
  const outputs = await filesUnder(dist, (name) => name.endsWith('.d.ts'));
  if (outputs.length === 0) return undefined;
  const inputs = [
    ...(await filesUnder(join(projectDir, 'src'), () => true)),
    ...(await filesUnder(join(root, 'libs', 'contracts', 'src'), () => true)),
    join(projectDir, 'package.json'),
    join(root, 'tsconfig.base.json'),
    fileURLToPath(import.meta.url),
    join(root, 'node_modules', 'typescript', 'package.json'),
    join(root, 'node_modules', 'zod', 'package.json'),
  ];
  const mtimes = async (files) => Promise.all(files.map(async (file) => (await stat(file).catch(() => ({ mtimeMs: Infinity }))).mtimeMs));
  if (Math.max(...(await mtimes(inputs))) >= Math.min(...(await mtimes(outputs)))) return undefined;
  return new Map(await Promise.all(outputs.map(async (file) => [relative(dist, file), await readFile(file, 'utf8')])));
}

/** Writes declarations kept by {@link reusableDeclarations} back (the build emptied dist/ meanwhile). */
export async function restoreDeclarations(projectDir, kept) {
  for (const [file, text] of kept) {
    const target = join(projectDir, 'dist', file);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
  }
}

/**
 * Writes `<projectDir>/dist/**.d.ts` (CommonJS) and `<projectDir>/dist/esm/**.d.ts` (ES modules: relative imports
 * with `.js`, as Node's ESM resolution wants) for the sources of `<projectDir>/src`; `contractsModule` (a file of src)
 * is written as standalone declarations. Throws on a type the expansion cannot write.
 */
export async function emitDeclarations(projectDir, { contractsModule = 'contracts.ts', withJsExtensions }) {
  const ts = require('typescript');
  const root = join(projectDir, '..', '..');
  const configPath = join(root, 'tsconfig.base.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const src = join(projectDir, 'src');
  const entry = join(src, 'index.ts');
  const contractsFile = join(src, contractsModule);
  const contractsDts = contractsFile.replace(/\.ts$/, '.d.ts');
  const emitOptions = {
    ...options,
    // Only the declarations the package ships.
    declaration: true,
    emitDeclarationOnly: true,
    noEmit: false,
    sourceMap: false,
    declarationMap: false,
    rootDir: root,
    outDir: join(root, '.dts-out'),
    // What the published types may use: the language and fetch's types (DOM), not Node's or Jest's (smaller, faster
    // program, and a browser-safe SDK is checked here against no Node type).
    types: [],
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  };
  // Pass 1: the contracts' types, written out by the checker.
  const first = ts.createProgram([contractsFile], emitOptions);
  const contracts = first.getSourceFile(contractsFile);
  if (!contracts) throw new Error(`sdk declarations: ${contractsFile} is not part of the program`);
  const contractsText = expandContracts(ts, first.getTypeChecker(), contracts);
  // Pass 2: the SDK's declarations against those (the module resolves to the written-out .d.ts), so inferred types
  // name them (\`Promise<Agent>\`) instead of spelling out zod's.
  const host = ts.createCompilerHost(emitOptions);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => (file === contractsFile ? false : file === contractsDts ? true : fileExists.call(host, file));
  host.readFile = (file) => (file === contractsDts ? contractsText : readFile.call(host, file));
  host.getSourceFile = (file, language, ...rest) =>
    file === contractsDts ? ts.createSourceFile(file, contractsText, language, true) : getSourceFile.call(host, file, language, ...rest);
  const program = ts.createProgram([entry], emitOptions, host);
  // Type errors are `npm run typecheck`'s business; only what makes a declaration unwritable stops the build.
  const files = new Map();
  for (const sourceFile of program.getSourceFiles()) {
    const name = sourceFile.fileName;
    if (!name.startsWith(`${src}/`) || name.endsWith('.spec.ts') || name.endsWith('.d.ts')) continue;
    const { diagnostics } = program.emit(sourceFile, (_out, text) => files.set(relative(src, name).replace(/\.ts$/, '.d.ts'), text), undefined, true);
    if (diagnostics.length > 0) throw new Error(`sdk declarations: ${ts.formatDiagnostics(diagnostics, host)}`);
  }
  files.set(relative(src, contractsDts), contractsText);

  for (const [file, text] of files) {
    for (const foreign of ['@skreaver/', 'zod', 'libs/']) {
      if (text.includes(foreign)) throw new Error(`sdk declarations: ${file} still names ${foreign}`);
    }
    for (const [dir, code] of [[join(projectDir, 'dist'), text], [join(projectDir, 'dist', 'esm'), withJsExtensions(text)]]) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), code);
    }
  }
  return files.size;
}

/** The exported types of `sourceFile` (type aliases of contracts), each written out as a standalone `export type`. */
function expandContracts(ts, checker, sourceFile) {
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
  const exported = checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.name.localeCompare(b.name));
  // A type met again while writing another is written as its name (recursive ones, like JsonValue, need it).
  const names = new Map();
  const declared = [];
  for (const symbol of exported) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const type = checker.getDeclaredTypeOfSymbol(target);
    declared.push({ name: symbol.name, type, docs: ts.displayPartsToString(target.getDocumentationComment(checker)) });
    const named = type.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection) || (type.flags & ts.TypeFlags.Union && !(type.flags & ts.TypeFlags.Boolean));
    if (named && !names.has(type)) names.set(type, symbol.name);
  }
  const out = ['// Generated by tools/sdk-declarations.mjs from the contracts of the API (its request and response types), written out.', ''];
  for (const { name, type, docs } of declared) {
    if (docs) out.push(`/** ${docs.replace(/\*\//g, '*\\/').split('\n').join('\n * ')} */`);
    out.push(`export type ${name} = ${write(ts, checker, type, names, name, 0)};`, '');
  }
  return `${out.join('\n')}export {};\n`;
}

const INDENT = '  ';

function write(ts, checker, type, names, self, depth, seen = new Set()) {
  if (depth > 0) {
    const name = names.get(type);
    if (name) return name;
  }
  const f = type.flags;
  if (f & ts.TypeFlags.Any) return 'any';
  if (f & ts.TypeFlags.Unknown) return 'unknown';
  if (f & ts.TypeFlags.Never) return 'never';
  if (f & ts.TypeFlags.String) return 'string';
  if (f & ts.TypeFlags.Number) return 'number';
  if (f & ts.TypeFlags.BigInt) return 'bigint';
  if (f & ts.TypeFlags.Boolean) return 'boolean';
  if (f & ts.TypeFlags.Null) return 'null';
  if (f & ts.TypeFlags.Undefined) return 'undefined';
  if (f & ts.TypeFlags.Void) return 'void';
  if (f & ts.TypeFlags.StringLiteral) return JSON.stringify(type.value);
  if (f & ts.TypeFlags.NumberLiteral) return String(type.value);
  if (f & ts.TypeFlags.BooleanLiteral) return type.intrinsicName;
  if (f & ts.TypeFlags.TemplateLiteral || f & ts.TypeFlags.StringMapping) return checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation);
  if (seen.has(type)) throw new Error(`sdk declarations: ${self} is recursive through an unnamed type (${checker.typeToString(type)}); export it from contracts`);
  const inner = new Set(seen).add(type);
  const next = (t) => write(ts, checker, t, names, self, depth + 1, inner);
  if (f & ts.TypeFlags.Union) return writeUnion(ts, type.types, next);
  if (f & ts.TypeFlags.Intersection) return type.types.map((t) => (t.flags & ts.TypeFlags.Union ? `(${next(t)})` : next(t))).join(' & ');
  if (f & ts.TypeFlags.Object) {
    if (checker.isArrayType(type)) {
      const [element] = checker.getTypeArguments(type);
      return `Array<${next(element)}>`;
    }
    if (checker.isTupleType(type)) {
      const flags = type.target.elementFlags;
      return `[${checker
        .getTypeArguments(type)
        .map((t, i) => (flags[i] & ts.ElementFlags.Rest ? `...Array<${next(t)}>` : `${next(t)}${flags[i] & ts.ElementFlags.Optional ? '?' : ''}`))
        .join(', ')}]`;
    }
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      throw new Error(`sdk declarations: ${self} has a function type (${checker.typeToString(type)}), not a data type`);
    }
    const pad = INDENT.repeat(depth + 1);
    const lines = [];
    for (const info of checker.getIndexInfosOfType(type)) {
      lines.push(`${pad}${info.isReadonly ? 'readonly ' : ''}[key: ${next(info.keyType)}]: ${next(info.type)};`);
    }
    for (const property of checker.getPropertiesOfType(type)) {
      const optional = property.flags & ts.SymbolFlags.Optional;
      const propertyType = checker.getTypeOfSymbol(property);
      // An optional property's type carries `| undefined` in the checker's view: written once, as `?:`.
      const text =
        optional && propertyType.flags & ts.TypeFlags.Union && !names.has(propertyType)
          ? writeUnion(ts, propertyType.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined)), next)
          : next(propertyType);
      const docs = ts.displayPartsToString(property.getDocumentationComment(checker));
      if (docs) lines.push(`${pad}/** ${docs.replace(/\*\//g, '*\\/').replace(/\n/g, ' ')} */`);
      const key = /^[A-Za-z_$][\w$]*$/.test(property.name) ? property.name : JSON.stringify(property.name);
      lines.push(`${pad}${key}${optional ? '?' : ''}: ${text};`);
    }
    return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${INDENT.repeat(depth)}}`;
  }
  throw new Error(`sdk declarations: cannot write ${checker.typeToString(type)} (flags ${f}) of ${self}`);
}

/** A union's members, `true | false` written as `boolean`, intersections in parentheses. */
function writeUnion(ts, members, next) {
  const parts = [];
  const hasTrue = members.some((t) => t.flags & ts.TypeFlags.BooleanLiteral && t.intrinsicName === 'true');
  const hasFalse = members.some((t) => t.flags & ts.TypeFlags.BooleanLiteral && t.intrinsicName === 'false');
  for (const member of members) {
    if (hasTrue && hasFalse && member.flags & ts.TypeFlags.BooleanLiteral) {
      if (!parts.includes('boolean')) parts.push('boolean');
      continue;
    }
    const text = next(member);
    parts.push(member.flags & ts.TypeFlags.Intersection ? `(${text})` : text);
  }
  return parts.join(' | ');
}
