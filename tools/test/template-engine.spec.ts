import { coalesceValues } from '../chart/render.mjs';
import { formatFloat, TemplateSet, toYaml } from '../chart/template.mjs';

/** Renders `source` with `data` the way Helm executes one template file. */
function run(source: string, data: unknown = {}, helpers = ''): string {
  const set = new TemplateSet();
  if (helpers) set.add('_helpers.tpl', helpers);
  set.add('t.yaml', source);
  return set.execute('t.yaml', data);
}

// Expected outputs were produced by Go's own text/template (compiled to wasm) on the same inputs, where Go has
// the construct; the Sprig/Helm functions follow their Go sources.
describe('the chart template engine', () => {
  describe('Go semantics', () => {
    it('should print values read from YAML as Go prints float64 (the Helm big-number gotcha)', () => {
      expect(run('{{ .a }} {{ .b }} {{ .c }} {{ .d }} {{ .e }}', { a: 8080, b: 1048576, c: 123456, d: 0.5, e: 0.00001 })).toBe(
        '8080 1.048576e+06 123456 0.5 1e-05',
      );
      expect(run('{{ .b | int }} {{ toYaml .b }}', { b: 1048576 })).toBe('1048576 1048576');
      expect(formatFloat(1e21)).toBe('1e+21');
    });

    it('should refuse to compare a float64 value with an int literal, as Helm does', () => {
      expect(() => run('{{ eq .n 1 }}', { n: 1 })).toThrow('incompatible types for comparison');
      expect(run('{{ eq .n 1.0 }} {{ eq (int .n) 1 }}', { n: 1 })).toBe('true true');
    });

    it('should trim whitespace at {{- and -}} and drop comments', () => {
      expect(run('a\n  {{- /* c */ -}}\n  b {{- 3 }} {{ 4 -}} \n x')).toBe('ab3 4x');
    });

    it('should give nil for a missing key and fail on a field of nil', () => {
      expect(run('[{{ .missing }}]', {})).toBe('[<no value>]');
      expect(() => run('{{ .missing.field }}', {})).toThrow('nil pointer evaluating interface {}.field');
    });

    it('should range over maps in key order and over lists, with else for empty ones', () => {
      expect(run('{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}{{ range .e }}x{{ else }}none{{ end }}', { m: { b: 2, a: 1 }, e: [] })).toBe(
        'a=1;b=2;none',
      );
    });

    it('should scope variables to their block and let = assign an outer one', () => {
      expect(run('{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}')).toBe('2');
      expect(() => run('{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}')).toThrow('undefined variable: $y');
    });

    it('should short-circuit and/or and treat empty values as false', () => {
      expect(run('{{ and .t .s }} {{ and .f .s }} {{ or "" .s }} {{ not .e }}', { t: true, f: false, s: 'x', e: [] })).toBe('x false x true');
      expect(run('{{ if and .m .m.enabled }}on{{ else }}off{{ end }}', {})).toBe('off');
    });

    it('should chain a field onto a parenthesised pipeline, but not across a space', () => {
      expect(run('{{ (index .m "n").k }}', { m: { n: { k: 7 } } })).toBe('7');
      expect(run('{{ default (printf "%s" "x") .v }}', { v: 'given' })).toBe('given');
    });

    it('should reject what it does not implement instead of rendering it differently', () => {
      expect(() => run('{{ lookup "v1" "Secret" "ns" "name" }}')).toThrow('function "lookup" not defined');
      expect(() => run('{{ block "x" . }}{{ end }}')).toThrow('not supported by this renderer');
      expect(() => run('{{ if true }}unclosed')).toThrow('missing {{end}}');
    });
  });

  describe('Helm and Sprig functions', () => {
    it('should include a define with the data it is given and indent it', () => {
      const helpers = '{{- define "labels" -}}\napp: {{ .name }}\ntier: {{ .tier }}\n{{- end -}}';

      expect(run('metadata:\n  labels:\n    {{- include "labels" (dict "name" "api" "tier" "web") | nindent 4 }}', {}, helpers)).toBe(
        'metadata:\n  labels:\n    app: api\n    tier: web',
      );
    });

    it('should write YAML like sigs.k8s.io/yaml: sorted keys, unindented sequences, YAML 1.1 quoting', () => {
      expect(toYaml({ b: ['x', 'on'], a: { d: '1', c: true } })).toBe('a:\n  c: true\n  d: "1"\nb:\n- x\n- "on"');
    });

    it('should treat empty values as missing in default and fail required on nil or ""', () => {
      expect(run('{{ default "d" .a }} {{ default "d" .b }} {{ .c | default "d" }}', { a: '', b: false, c: 'given' })).toBe('d d given');
      expect(() => run('{{ required "x is required" .x }}', {})).toThrow('x is required');
      expect(run('{{ required "x" .x }}', { x: false })).toBe('false');
    });

    it('should quote, truncate, trim and print like Sprig', () => {
      expect(run('{{ quote .s }} {{ trunc 3 "abcdef" }} {{ trimSuffix "-" "abc-" }} {{ printf "%s-%d" "a" 3 }} {{ add 1 2 3 }} {{ div 25999 1000 }}', { s: 'a"b' })).toBe(
        '"a\\"b" abc abc a-3 6 25',
      );
    });
  });

  describe(coalesceValues.name, () => {
    it('should merge user values over chart values deeply, and delete keys set to null', () => {
      expect(coalesceValues({ a: { b: 1, c: 2 }, d: [1, 2], e: 'x' }, { a: { b: 10 }, d: [3], e: null })).toEqual({ a: { b: 10, c: 2 }, d: [3] });
    });
  });
});
