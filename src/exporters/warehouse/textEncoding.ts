import type { Client } from 'pg';
import { ExitPlanError } from '../shared/errors';

/**
 * The encoding a SQL_ASCII database's text is written in, as pg_dump's `--encoding` names it. A SQL_ASCII
 * server stores bytes without saying what they mean, so the export reads them raw and converts them to
 * UTF-8 itself (the archive's CSV is always UTF-8).
 */
export interface SourceEncoding {
  /** The name as given, for messages. */
  name: string;
  decoder(): { decode(chunk?: Buffer, options?: { stream?: boolean }): string };
}

/** PostgreSQL's encoding names and the WHATWG labels Node's TextDecoder knows them by. */
const PG_NAMES: Record<string, string> = {
  UTF8: 'utf-8',
  LATIN2: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  LATIN5: 'iso-8859-9',
  LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  LATIN10: 'iso-8859-16',
  ISO_8859_5: 'iso-8859-5',
  ISO_8859_6: 'iso-8859-6',
  ISO_8859_7: 'iso-8859-7',
  ISO_8859_8: 'iso-8859-8',
  WIN866: 'ibm866',
  WIN874: 'windows-874',
  WIN1250: 'windows-1250',
  WIN1251: 'windows-1251',
  WIN1252: 'windows-1252',
  WIN1253: 'windows-1253',
  WIN1254: 'windows-1254',
  WIN1255: 'windows-1255',
  WIN1256: 'windows-1256',
  WIN1257: 'windows-1257',
  WIN1258: 'windows-1258',
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
  SJIS: 'shift_jis',
  EUC_JP: 'euc-jp',
  EUC_KR: 'euc-kr',
  GBK: 'gbk',
  GB18030: 'gb18030',
  BIG5: 'big5',
};

/** LATIN1 as PostgreSQL converts it: each byte is the code point of the same number (WHATWG would read windows-1252). */
const LATIN1 = /^(latin1|iso[-_]?8859[-_]?1|l1)$/i;

/** Checks an encoding name (PostgreSQL's, e.g. LATIN1, WIN1252, or a WHATWG label); one sentence when unknown. */
export function sourceEncoding(name: string): SourceEncoding {
  const trimmed = name.trim();
  if (LATIN1.test(trimmed)) return { name: trimmed, decoder: () => ({ decode: (chunk?: Buffer) => chunk?.toString('latin1') ?? '' }) };
  const label = PG_NAMES[trimmed.toUpperCase().replace(/-/g, '_')] ?? trimmed;
  try {
    new TextDecoder(label);
  } catch {
    throw new ExitPlanError(
      `Unknown encoding "${name}": give the encoding the text is written in as PostgreSQL names it, ` +
        `e.g. LATIN1, WIN1252, LATIN9, KOI8R or SJIS.`,
    );
  }
  return { name: trimmed, decoder: () => new TextDecoder(label, { fatal: true }) };
}

/** Refuses a source encoding for a database that is not SQL_ASCII: its server converts to UTF-8 already. */
export async function checkSqlAscii(client: Client, database: string): Promise<void> {
  const r = await client.query<{ e: string }>("SELECT current_setting('server_encoding') AS e");
  const encoding = r.rows[0].e;
  if (encoding !== 'SQL_ASCII') {
    throw new ExitPlanError(
      `The database "${database}" is ${encoding}, not SQL_ASCII: its server converts the text to UTF-8 itself, ` +
        `so no encoding needs to be named; nothing was exported.`,
    );
  }
}

/** The session's client encoding while reading raw bytes from a SQL_ASCII server (no conversion, no check). */
export const RAW_CLIENT_ENCODING = "SET client_encoding = 'SQL_ASCII'";
export const UTF8_CLIENT_ENCODING = "SET client_encoding = 'UTF8'";

/** COPY's raw bytes converted from `encoding` to UTF-8, chunk by chunk (characters split across chunks included). */
export async function* toUtf8(source: AsyncIterable<Buffer>, encoding: SourceEncoding, relation: string): AsyncIterable<Buffer> {
  const decoder = encoding.decoder();
  try {
    for await (const chunk of source) {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== '') yield Buffer.from(text, 'utf8');
    }
    const rest = decoder.decode();
    if (rest !== '') yield Buffer.from(rest, 'utf8');
  } catch (err) {
    if (err instanceof TypeError && (err as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      throw new ExitPlanError(
        `${relation} holds text that is not valid ${encoding.name}: name the encoding its text is really written in.`,
        '22021',
        { cause: err },
      );
    }
    throw err;
  }
}
