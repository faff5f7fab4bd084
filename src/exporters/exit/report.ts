// What a complete run leaves for machines (exit-manifest.json) and for people (EXIT-REPORT.md). No secret in
// either: every sentence is masked.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes, formatCount, plural } from '../shared/format';
import { maskSecrets } from '../shared/mask';
import { formatDuration } from '../datasets/interval';
import { TOOL_NAME, TOOL_VERSION } from '../version';
import { RUN_FILES, type PartKind, type PartRecord } from './types';

/** A part that failed in the run, as the manifest records it. */
export interface FailedPartRecord {
  name: string;
  kind: PartKind;
  status: 'failed';
  /** The one sentence (masked). */
  error: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** exit-manifest.json. */
export interface ExitManifest {
  format: 1;
  tool: { name: string; version: string };
  /** The plan file. */
  plan: string;
  /** The run folder. */
  folder: string;
  startedAt: string;
  finishedAt: string;
  /** Every part verified. */
  ok: boolean;
  parts: (PartRecord | FailedPartRecord)[];
  notIncluded: string[];
  /** Server versions the parts reported (e.g. a warehouse's PostgreSQL), by part name. */
  serverVersions: Record<string, string>;
}

/** Masks every string in a value (sentences, details), for files of the run. */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map(maskDeep) as T;
  if (value && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v)])) as T;
  return value;
}

/** The manifest of a complete run. */
export function buildManifest(input: {
  plan: string;
  folder: string;
  startedAt: Date;
  finishedAt: Date;
  parts: (PartRecord | FailedPartRecord)[];
  notIncluded: string[];
}): ExitManifest {
  const serverVersions: Record<string, string> = {};
  for (const p of input.parts) {
    const v = p.status === 'verified' ? p.details?.serverVersion : undefined;
    if (typeof v === 'string') serverVersions[p.name] = v;
  }
  return maskDeep({
    format: 1,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    plan: input.plan,
    folder: input.folder,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    ok: input.parts.every((p) => p.status === 'verified'),
    parts: input.parts,
    notIncluded: input.notIncluded,
    serverVersions,
  });
}

/** How long a part took: `240 ms`, `3 minutes 5 seconds`. */
function took(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : formatDuration(ms);
}

/** A Markdown table cell: one line, no `|`. */
function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
}

/** What a part holds, in a few words, from its details. */
function what(p: PartRecord): string {
  const d = p.details ?? {};
  const parts: string[] = [];
  if (typeof d.database === 'string') parts.push(`database ${d.database}`);
  if (typeof d.tables === 'number') parts.push(plural(d.tables, 'table'));
  if (typeof d.rows === 'number') parts.push(`${formatCount(d.rows)} rows`);
  if (typeof d.subset === 'string') parts.push(`subset of ${d.subset}`);
  if (typeof d.container === 'string') parts.push(`container ${d.container}${typeof d.prefix === 'string' ? `/${d.prefix}` : ''}`);
  if (typeof d.blobs === 'number') parts.push(plural(d.blobs, 'blob'));
  if (p.kind === 'rclone' && typeof d.remote === 'string') {
    parts.push(`remote ${d.remote}`);
    if (typeof d.files === 'number') parts.push(plural(d.files, 'file'));
    parts.push(typeof d.hash === 'string' ? `${d.hash} compared` : 'sizes only (no hash on the remote)');
  }
  if (typeof d.path === 'string') parts.push(d.path);
  if (typeof d.snapshotTime === 'string') parts.push(`snapshot ${d.snapshotTime}`);
  return parts.join(', ') || p.kind;
}

/** EXIT-REPORT.md: for a person, what was taken, where, how much, how verified, how long; failures; not included. */
export function reportText(m: ExitManifest): string {
  const verified = m.parts.filter((p): p is PartRecord => p.status === 'verified');
  const failed = m.parts.filter((p): p is FailedPartRecord => p.status === 'failed');
  const bytes = verified.reduce((n, p) => n + p.bytes, 0);
  const files = verified.reduce((n, p) => n + p.fileCount, 0);
  const lines = [
    `# Exit report: ${path.basename(m.folder)}`,
    '',
    `Plan: \`${m.plan}\`  `,
    `Started ${m.startedAt}, finished ${m.finishedAt} (UTC).  `,
    failed.length === 0
      ? `**Every part verified**: ${plural(verified.length, 'part')}, ${plural(files, 'file')}, ${formatBytes(bytes)}.`
      : `**${plural(failed.length, 'part')} failed**, ${verified.length} verified (${plural(files, 'file')}, ${formatBytes(bytes)}).`,
    '',
    '## Parts',
    '',
    '| Part | Kind | What | Where | Files | Size | How verified | Took |',
    '| --- | --- | --- | --- | ---: | ---: | --- | ---: |',
  ];
  for (const p of m.parts) {
    if (p.status === 'verified') {
      lines.push(
        `| ${cell(p.name)} | ${p.kind} | ${cell(what(p))} | \`${cell(p.name)}/\` | ${formatCount(p.fileCount)} | ` +
          `${formatBytes(p.bytes)} | ${cell(p.verification)} | ${took(p.durationMs)} |`,
      );
    } else {
      lines.push(`| ${cell(p.name)} | ${p.kind} | **failed** | \`${cell(p.name)}/\` | – | – | ${cell(p.error)} | ${took(p.durationMs)} |`);
    }
  }
  if (failed.length > 0) {
    lines.push('', '## Failures', '');
    for (const p of failed) lines.push(`- **${p.name}** (${p.kind}): ${p.error}`);
  }
  const notes = verified.flatMap((p) => (p.notes ?? []).map((n) => `- **${p.name}**: ${n}`));
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes);
  lines.push('', '## Not included', '');
  if (m.notIncluded.length > 0) for (const n of m.notIncluded) lines.push(`- ${n}`);
  else lines.push('Nothing was declared as left out (`not_included` in the plan).');
  lines.push('', '## Versions', '', `- ${m.tool.name} ${m.tool.version}`);
  for (const [name, v] of Object.entries(m.serverVersions)) {
    const kind = m.parts.find((p) => p.name === name)?.kind;
    lines.push(`- ${name}: ${kind === 'warehouse' ? `PostgreSQL ${v}` : v}`);
  }
  lines.push('', `Each part's files and checksums are in \`<part>/${RUN_FILES.part}\`; the whole run in \`${RUN_FILES.manifest}\`.`, '');
  return maskSecrets(lines.join('\n'));
}

/** A complete run's manifest, or undefined when the run is not complete (or the file is not one). */
export async function readRunManifest(folder: string): Promise<ExitManifest | undefined> {
  try {
    const m = JSON.parse(await fs.promises.readFile(path.join(folder, RUN_FILES.manifest), 'utf8')) as ExitManifest;
    return m && m.format === 1 && Array.isArray(m.parts) ? m : undefined;
  } catch {
    return undefined;
  }
}
