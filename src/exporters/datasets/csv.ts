/** RFC 4180 CSV, as Python's csv module reads and writes it (minimal quoting). */

/** Rows of fields; accepts CRLF or LF line ends and quoted fields with commas, quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  let rowStarted = false;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      quoted = true;
      rowStarted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      rowStarted = true;
      i++;
    } else if (c === '\r' || c === '\n') {
      if (rowStarted || field !== '') {
        row.push(field);
        rows.push(row);
      }
      row = [];
      field = '';
      rowStarted = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      // Fast path: copy a run of plain characters at once.
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 44 || d === 34 || d === 10 || d === 13) break;
        j++;
      }
      field += text.slice(i, j);
      rowStarted = true;
      i = j;
    }
  }
  if (rowStarted || field !== '') {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function quote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** Rows joined with `eol`, each line ended by it (as Python's csv.writer does). */
export function formatCsv(rows: readonly (readonly string[])[], eol: string): string {
  return rows.map((r) => r.map(quote).join(',') + eol).join('');
}
