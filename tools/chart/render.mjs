// `helm template` for charts/skreaver without helm: reads Chart.yaml, merges values like Helm (user values over the
// chart's values.yaml, deeply; a null deletes a key), validates them against values.schema.json (Helm does the
// same before rendering), renders every templates/* file with the Go-template engine in ./template.mjs (files whose
// name starts with "_" only define helpers) and splits the output into YAML documents the way Helm does.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

import Ajv from 'ajv';
import YAML from 'yaml';

import { STRUCT, TemplateError, TemplateSet } from './template.mjs';

export { TemplateError };

/** YAML as Helm and Kubernetes read it (go-yaml: YAML 1.1, so `on`/`yes` are booleans; duplicate keys are errors). */
export function parseYaml(text, source = 'yaml') {
  const doc = YAML.parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
  // The yaml package's YAML 1.1 float also matches a lone "." (NaN); go-yaml reads it as the string ".".
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (Number.isNaN(node.value) && node.source !== undefined && !/^[-+]?\.nan$/i.test(node.source)) node.value = node.source;
    },
  });
  return doc.toJS({ maxAliasCount: 100 });
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Helm's coalesce: `override` wins key by key, maps merge deeply, a null in `override` removes the key. */
export function coalesceValues(base, override) {
  if (!isMap(override)) return override === undefined ? base : override;
  const out = isMap(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = coalesceValues(out[key], value);
    else out[key] = value;
  }
  return out;
}

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out.sort();
}

// Helm's releaseutil.SplitManifests separator.
const SEPARATOR = /(?:^|\s*\n)---\s*/;

/**
 * Renders `chartDir` like `helm template <release> <chartDir> -n <namespace> -f …`.
 * @param {string} chartDir
 * @param {{ values?: object, valuesFiles?: string[], release?: string, namespace?: string, kubeVersion?: string }} [options]
 * @returns {{ values: object, manifests: Array<{ source: string, object: object }>, notes: string }}
 */
export function renderChart(chartDir, options = {}) {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'), 'Chart.yaml');
  if (chart.apiVersion !== 'v2') throw new Error('Chart.yaml: apiVersion must be v2');
  for (const field of ['name', 'version']) if (!chart[field]) throw new Error(`Chart.yaml: ${field} is required`);

  let values = parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8'), 'values.yaml') ?? {};
  for (const file of options.valuesFiles ?? []) values = coalesceValues(values, parseYaml(readFileSync(file, 'utf8'), file) ?? {});
  if (options.values) values = coalesceValues(values, JSON.parse(JSON.stringify(options.values)));

  const schemaPath = join(chartDir, 'values.schema.json');
  if (existsSync(schemaPath)) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
    if (!validate(values)) {
      const problems = validate.errors.map((e) => `${e.instancePath || '(root)'}: ${e.message}`).join('\n- ');
      throw new Error(`values don't meet the specifications of the schema(s) in the following chart(s):\n${chart.name}:\n- ${problems}`);
    }
  }

  const release = options.release ?? 'skreaver';
  const namespace = options.namespace ?? 'default';
  const kubeVersion = options.kubeVersion ?? 'v1.31.0';
  const [major, minor] = kubeVersion.replace(/^v/, '').split('.');
  const files = Object.fromEntries(
    listFiles(chartDir)
      .filter((path) => !relative(chartDir, path).startsWith('templates/'))
      .map((path) => [relative(chartDir, path), path]),
  );
  const context = {
    [STRUCT]: true,
    Values: values,
    Release: { [STRUCT]: true, Name: release, Namespace: namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: {
      [STRUCT]: true,
      Name: chart.name,
      Version: chart.version,
      AppVersion: chart.appVersion ?? '',
      Description: chart.description ?? '',
    },
    Capabilities: {
      [STRUCT]: true,
      KubeVersion: { [STRUCT]: true, Version: kubeVersion, Major: major, Minor: minor, GitVersion: kubeVersion },
    },
    Files: {
      [STRUCT]: true,
      Get: (name) => (files[name] ? readFileSync(files[name], 'utf8') : ''),
    },
    Template: { [STRUCT]: true, Name: '', BasePath: `${chart.name}/templates` },
  };

  const set = new TemplateSet();
  const templatesDir = join(chartDir, 'templates');
  const templateFiles = listFiles(templatesDir).map((path) => `${chart.name}/templates/${relative(templatesDir, path)}`);
  for (const name of templateFiles) set.add(name, readFileSync(join(chartDir, name.slice(chart.name.length + 1)), 'utf8'));

  const manifests = [];
  let notes = '';
  for (const name of templateFiles) {
    const base = name.split('/').pop();
    if (base.startsWith('_')) continue;
    context.Template = { ...context.Template, Name: name };
    // Helm renders "<no value>" (a missing key printed) as nothing.
    const text = set.execute(name, context).replaceAll('<no value>', '');
    if (base === 'NOTES.txt') {
      notes = text;
      continue;
    }
    if (!/\.(ya?ml|tpl)$/.test(base)) continue;
    text.split(SEPARATOR).forEach((doc, index) => {
      if (!doc.trim()) return;
      const source = `${name}#${index}`;
      const object = parseYaml(doc, source);
      if (object === null || object === undefined) return;
      if (!isMap(object)) throw new Error(`${source}: a manifest must be a mapping, got ${typeof object}`);
      if (!object.apiVersion || !object.kind) throw new Error(`${source}: apiVersion and kind are required (rendered:\n${doc})`);
      manifests.push({ source, object });
    });
  }
  return { values, manifests, notes };
}

/** The rendered objects as one multi-document YAML stream, as `helm template` prints it. */
export function toYamlStream(manifests) {
  return manifests
    .map(({ source, object }) => `---\n# Source: ${source.replace(/#\d+$/, '')}\n${YAML.stringify(object, { version: '1.1', lineWidth: 0 })}`)
    .join('');
}
