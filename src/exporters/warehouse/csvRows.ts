const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Finds where rows end in PostgreSQL's CSV output (quote `"`, escape `"`, rows ended by `\n`), across
 * chunk boundaries: a newline inside a quoted value does not end a row. Uses Buffer.indexOf, so it costs
 * little more than a memchr over the data.
 */
export class CsvRowScanner {
  private inQuotes = false;

  /**
   * Scans `buf` from `start` and stops after `limit` row ends. Returns how many rows ended and the offset
   * just past the last row end counted (or `buf.length` when fewer than `limit` rows ended).
   */
  scan(buf: Buffer, start = 0, limit = Number.POSITIVE_INFINITY): { rows: number; end: number } {
    const len = buf.length;
    let i = start;
    let rows = 0;
    let nextQuote = -2; // -2: not looked up yet; -1: none left in this chunk
    while (i < len) {
      if (this.inQuotes) {
        const q = buf.indexOf(QUOTE, i);
        if (q < 0) return { rows, end: len };
        this.inQuotes = false;
        i = q + 1;
        nextQuote = -2;
        continue;
      }
      if (nextQuote === -2 || (nextQuote >= 0 && nextQuote < i)) nextQuote = buf.indexOf(QUOTE, i);
      const nl = buf.indexOf(NEWLINE, i);
      if (nextQuote >= 0 && (nl < 0 || nextQuote < nl)) {
        this.inQuotes = true;
        i = nextQuote + 1;
        continue;
      }
      if (nl < 0) return { rows, end: len };
      rows++;
      i = nl + 1;
      if (rows >= limit) return { rows, end: i };
    }
    return { rows, end: len };
  }

  /** True when the data scanned so far ends inside a quoted value. */
  get insideQuotes(): boolean {
    return this.inQuotes;
  }
}
