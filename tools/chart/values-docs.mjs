// The values table of charts/skreaver/README.md, generated from values.yaml: one row per setting (its path, default
// and the comment above it in values.yaml). `npm run chart:readme` rewrites the table between the markers; the chart
// tests fail when it is stale.
import YAML from 'yaml';

export const START = '<!-- values-table:start (generated from values.yaml by `npm run chart:readme`) -->';
export const END = '<!-- values-table:end -->';

// The paragraph of comment nearest the key (a blank line ends a section header above it).
const clean = (comment) =>
  (comment ?? '')
    .split(/\n\s*\n/)
    .pop()
    .split('\n')
    .map((line) => line.replace(/^ ?/, '').trim())
    .filter(Boolean)
    .join(' ');

// Maps kept as one row: free-form maps (annotations, labels, selectors) and small inline ones ({ cpu, memory }).
const isLeafMap = (node) => node.items.length === 0 || node.flow || node.items.some((pair) => /[./]/.test(String(pair.key?.value ?? '')));

/** Rows `{ path, value, description }` for every setting of a values.yaml text. */
export function valuesRows(text) {
  const doc = YAML.parseDocument(text);
  const rows = [];
  const walk = (map, prefix, inherited) => {
    for (const [index, pair] of map.items.entries()) {
      const key = String(pair.key.value);
      const path = prefix ? `${prefix}.${key}` : key;
      // The comment above a block map's first key is stored on the map itself (not for the document's own map,
      // whose leading comment is the file header).
      const comment = clean(pair.key.commentBefore) || (index === 0 && prefix ? clean(map.commentBefore) : '');
      const inline = clean(pair.value?.comment);
      const description = [comment, inline].filter(Boolean).join(' ');
      if (YAML.isMap(pair.value) && !isLeafMap(pair.value)) {
        if (description) rows.push({ path, value: '', description });
        walk(pair.value, path, description || inherited);
      } else {
        rows.push({ path, value: JSON.stringify(pair.value?.toJSON() ?? null), description });
      }
    }
  };
  walk(doc.contents, '', '');
  return rows;
}

const cell = (text) => text.replaceAll('|', '\\|');

/** The Markdown table of the settings. */
export function valuesTable(text) {
  const lines = ['| Setting | Default | What it does |', '|---|---|---|'];
  for (const { path, value, description } of valuesRows(text)) {
    lines.push(`| \`${path}\` | ${value ? `\`${cell(value)}\`` : ''} | ${cell(description)} |`);
  }
  return lines.join('\n');
}

/** `readme` with the table between the markers replaced. */
export function replaceValuesTable(readme, valuesText) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`charts/skreaver/README.md lacks the markers ${START} … ${END}`);
  return `${readme.slice(0, start + START.length)}\n${valuesTable(valuesText)}\n${readme.slice(end)}`;
}
