// docs/PERFORMANCE.md is shared by the benchmarks: each writes its own section between
// `<!-- name:start -->` and `<!-- name:end -->` and leaves the rest of the document as it is.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** docs/PERFORMANCE.md, or the file BENCH_DOC names (the tests write there). */
export const PERFORMANCE_DOC = process.env.BENCH_DOC
  ? path.resolve(process.env.BENCH_DOC)
  : path.resolve(__dirname, '../../../docs/PERFORMANCE.md');

/** Replaces (or appends) the section `name` with `lines`, wrapped in its markers. */
export function writeDocSection(name: string, lines: string[]): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = [start, ...lines, end].join('\n');
  const doc = fs.existsSync(PERFORMANCE_DOC) ? fs.readFileSync(PERFORMANCE_DOC, 'utf8') : '# Performance\n';
  const at = doc.indexOf(start);
  const next = at >= 0 ? doc.slice(0, at) + section + doc.slice(doc.indexOf(end) + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(PERFORMANCE_DOC, next);
}
