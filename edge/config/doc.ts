/**
 * Renders the config schema as a Markdown reference (docs/config.md), so the document is
 * made from the same schema that validates the file and cannot drift from it.
 * Run: `npm run docs:config`; a test fails when docs/config.md is out of date.
 */
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, ENV_OVERRIDES } from './schema.ts';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

function typeOf(s: JsonSchema): string {
  if (s.anyOf) {
    const consts = s.anyOf.filter((x) => x.const !== undefined).map((x) => JSON.stringify(x.const));
    if (consts.length === s.anyOf.length) return consts.join(' \\| ');
    return s.anyOf.map((x) => (x.properties?.kind?.const !== undefined ? `{kind: ${JSON.stringify(x.properties.kind.const)}, …}` : typeOf(x))).join(' \\| ');
  }
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  let t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  if (s.minimum !== undefined || s.maximum !== undefined) t += ` (${s.minimum ?? '…'}–${s.maximum ?? '…'})`;
  return t;
}

function rows(s: JsonSchema, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (child.type === 'object' && child.properties) {
      out.push(`| **${name}** | section | | ${(child.description ?? '').replaceAll('|', '\\|')} |`);
      rows(child, name, out);
      continue;
    }
    const def = child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``;
    out.push(`| \`${name}\` | ${typeOf(child)} | ${def} | ${(child.description ?? '').replaceAll('|', '\\|')} |`);
  }
}

export function renderConfigDoc(schema: TSchema = ConfigSchema): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from edge/config/schema.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'The daemon and every `store-edge` command read one YAML (or JSON) file: `--config FILE`, or `STORE_EDGE_CONFIG`, or `./store-edge.yaml` when present.',
    'Without a file it runs the demo on the defaults below. Every key is optional; an unknown key or a value of the wrong',
    'type stops the daemon with a message naming the key and what was expected. Relative paths are relative to the file.',
    '',
    '## Environment overrides',
    '',
    '| variable | key |',
    '| --- | --- |',
    ...ENV_OVERRIDES.map((o) => `| \`${o.env}\` | \`${o.path.join('.')}\` (${o.type}) |`),
    '',
    '## Keys',
    '',
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
  ];
  rows(schema as JsonSchema, '', out);
  return `${out.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(renderConfigDoc());
