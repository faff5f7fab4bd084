// The CSV files the exit parts write and read back (files-manifest.csv, files-verified.csv): RFC 4180, CRLF, streamed.
import * as fs from 'node:fs';

/** One CSV field, quoted as RFC 4180 says when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV row with its CRLF. */
export function csvRow(fields: string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/**
 * The rows after the header of a CSV file we wrote (files-manifest.csv, files-verified.csv), read as a stream: RFC
 * 4180 quoting (a quoted field may hold commas, quotes and line breaks), CRLF or LF.
 */
export async function* readCsvRows(file: string): AsyncGenerator<string[]> {
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let header = true;
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    const rows: string[][] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (quoted) {
        if (c === '"') {
          quoted = false;
          afterQuote = true;
        } else field += c;
      } else if (c === '"') {
        if (afterQuote) field += '"';
        quoted = true;
        afterQuote = false;
      } else if (c === ',') {
        row.push(field);
        field = '';
        afterQuote = false;
      } else if (c === '\n') {
        row.push(field);
        field = '';
        afterQuote = false;
        rows.push(row);
        row = [];
      } else if (c !== '\r') {
        field += c;
        afterQuote = false;
      }
    }
    for (const r of rows) {
      if (header) header = false;
      else yield r;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    if (!header) yield row;
  }
}
