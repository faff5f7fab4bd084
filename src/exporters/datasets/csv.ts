/** RFC 4180 CSV, as Python's csv module reads and writes it (minimal quoting). */

/** Rows of fields; accepts CRLF or LF line ends and quoted fields with commas, quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (let at = 0; ;) {
    const row: string[] = [];
    at = readCsvRecord(text, at, row);
    if (at < 0) return rows;
    rows.push(row);
  }
}

/**
 * Reads the record that starts at `start` (blank lines before it are skipped) into `fields` (its length set to
 * the record's; an array can be reused from record to record), and returns where the next one starts, or -1
 * when there is none. `wanted`: only the fields whose index it marks are
 * made into strings, the others are left '' (a scan over thousands of rows that needs two of their columns).
 * Reading the records one after the other gives what `parseCsv` gives.
 */
export function readCsvRecord(text: string, start: number, fields: string[], wanted?: readonly boolean[]): number {
  let field = '';
  let quoted = false;
  let i = start;
  const n = text.length;
  let rowStarted = false;
  let count = 0;
  let keep = wanted === undefined || wanted[0] === true;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === QUOTE) {
        if (text.charCodeAt(i + 1) === QUOTE) {
          if (keep) field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      // A run of characters up to the next quote at once.
      let j = text.indexOf('"', i + 1);
      if (j < 0) j = n;
      if (keep) field += text.slice(i, j);
      i = j;
      continue;
    }
    if (c === QUOTE) {
      quoted = true;
      rowStarted = true;
      i++;
    } else if (c === COMMA) {
      fields[count++] = field;
      field = '';
      rowStarted = true;
      keep = wanted === undefined || wanted[count] === true;
      i++;
    } else if (c === CR || c === LF) {
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      if (rowStarted || field !== '') {
        fields[count++] = field;
        fields.length = count;
        return i;
      }
      // A blank line: no record.
    } else {
      // Fast path: copy a run of plain characters at once.
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === COMMA || d === QUOTE || d === LF || d === CR) break;
        j++;
      }
      if (keep) field += text.slice(i, j);
      rowStarted = true;
      i = j;
    }
  }
  if (rowStarted || field !== '') {
    fields[count++] = field;
    fields.length = count;
    return n;
  }
  return -1;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

function quote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** Rows joined with `eol`, each line ended by it (as Python's csv.writer does). */
export function formatCsv(rows: readonly (readonly string[])[], eol: string): string {
  return rows.map((r) => r.map(quote).join(',') + eol).join('');
}
