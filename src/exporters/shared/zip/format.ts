// The zip records a streaming writer needs (PKWARE APPNOTE 6.3.x): local headers with a data descriptor
// (sizes and CRC-32 follow the data), central directory records, and the end records, with Zip64 where a
// size, an offset or the number of entries does not fit the classic fields (as Go's archive/zip writes them).

/** A field that does not fit: the value is in the Zip64 extra field. */
const U32 = 0xffffffff;
const U16 = 0xffff;
/** General purpose flags: sizes in a data descriptor (bit 3), names in UTF-8 (bit 11). */
const FLAGS = 0x0008 | 0x0800;
/** 2.0: deflate; 4.5: Zip64. */
const VERSION_DEFLATE = 20;
const VERSION_ZIP64 = 45;
/** Made by: UNIX (3), so that readers take the permissions from the external attributes. */
const MADE_BY_UNIX = 3 << 8;
/** A regular file, rw-r--r--, in the high half of the external attributes. */
const EXTERNAL_ATTRIBUTES = ((0o100644 << 16) >>> 0) as number;

export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;

/** What the central directory records of an entry, once its data is written. */
export interface ZipEntryRecord {
  name: Buffer;
  method: number;
  /** MS-DOS time and date, local time (as zip tools write them). */
  dosTime: number;
  dosDate: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header from the start of the archive. */
  offset: number;
}

/** MS-DOS time and date of `date` in local time; dates before 1980 are written as 1980-01-01. */
export function dosDateTime(date: Date): { dosTime: number; dosDate: number } {
  const d = date.getFullYear() < 1980 ? new Date(1980, 0, 1) : date;
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    dosDate: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** The local header of an entry whose CRC-32 and sizes follow its data in a data descriptor. */
export function localHeader(entry: Pick<ZipEntryRecord, 'name' | 'method' | 'dosTime' | 'dosDate'>): Buffer {
  const b = Buffer.alloc(30 + entry.name.length);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(VERSION_DEFLATE, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(entry.method, 8);
  b.writeUInt16LE(entry.dosTime, 10);
  b.writeUInt16LE(entry.dosDate, 12);
  // CRC-32, compressed and uncompressed size: 0 here, in the data descriptor.
  b.writeUInt16LE(entry.name.length, 26);
  b.writeUInt16LE(0, 28);
  entry.name.copy(b, 30);
  return b;
}

/** True when an entry needs Zip64 fields in the central directory (and 8-byte sizes in its data descriptor). */
function entryNeedsZip64(entry: ZipEntryRecord, force: boolean): { sizes: boolean; offset: boolean } {
  return {
    sizes: force || entry.size >= U32 || entry.compressedSize >= U32,
    offset: force || entry.offset >= U32,
  };
}

/** The data descriptor after an entry's data: 8-byte sizes when either does not fit in 4 bytes. */
export function dataDescriptor(entry: ZipEntryRecord, forceZip64 = false): Buffer {
  const zip64 = entryNeedsZip64(entry, forceZip64).sizes;
  const b = Buffer.alloc(zip64 ? 24 : 16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(entry.crc32 >>> 0, 4);
  if (zip64) {
    b.writeBigUInt64LE(BigInt(entry.compressedSize), 8);
    b.writeBigUInt64LE(BigInt(entry.size), 16);
  } else {
    b.writeUInt32LE(entry.compressedSize, 8);
    b.writeUInt32LE(entry.size, 12);
  }
  return b;
}

/** An entry's central directory record, with a Zip64 extra field for what does not fit. */
export function centralRecord(entry: ZipEntryRecord, forceZip64 = false): Buffer {
  const need = entryNeedsZip64(entry, forceZip64);
  // The Zip64 extra field holds, in this order, only the values whose classic field is 0xFFFFFFFF.
  const extra: bigint[] = [];
  if (need.sizes) extra.push(BigInt(entry.size), BigInt(entry.compressedSize));
  if (need.offset) extra.push(BigInt(entry.offset));
  const extraLength = extra.length > 0 ? 4 + 8 * extra.length : 0;
  const b = Buffer.alloc(46 + entry.name.length + extraLength);
  const version = extra.length > 0 ? VERSION_ZIP64 : VERSION_DEFLATE;
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(MADE_BY_UNIX | version, 4);
  b.writeUInt16LE(version, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(entry.method, 10);
  b.writeUInt16LE(entry.dosTime, 12);
  b.writeUInt16LE(entry.dosDate, 14);
  b.writeUInt32LE(entry.crc32 >>> 0, 16);
  b.writeUInt32LE(need.sizes ? U32 : entry.compressedSize, 20);
  b.writeUInt32LE(need.sizes ? U32 : entry.size, 24);
  b.writeUInt16LE(entry.name.length, 28);
  b.writeUInt16LE(extraLength, 30);
  // Comment length, disk number, internal attributes: 0.
  b.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  b.writeUInt32LE(need.offset ? U32 : entry.offset, 42);
  entry.name.copy(b, 46);
  let at = 46 + entry.name.length;
  if (extra.length > 0) {
    b.writeUInt16LE(0x0001, at);
    b.writeUInt16LE(8 * extra.length, at + 2);
    at += 4;
    for (const value of extra) {
      b.writeBigUInt64LE(value, at);
      at += 8;
    }
  }
  return b;
}

/**
 * The end of the archive: the Zip64 end record and its locator when the number of entries, the central
 * directory's size or its offset does not fit the classic end record, then the classic end record.
 */
export function endRecords(entries: number, directoryOffset: number, directorySize: number, forceZip64 = false): Buffer {
  const zip64 = forceZip64 || entries >= U16 || directoryOffset >= U32 || directorySize >= U32;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // the size of the rest of this record
    record.writeUInt16LE(MADE_BY_UNIX | VERSION_ZIP64, 12);
    record.writeUInt16LE(VERSION_ZIP64, 14);
    // This disk and the disk of the central directory: 0.
    record.writeBigUInt64LE(BigInt(entries), 24);
    record.writeBigUInt64LE(BigInt(entries), 32);
    record.writeBigUInt64LE(BigInt(directorySize), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 8);
    locator.writeUInt32LE(1, 16); // disks in all
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? U16 : entries, 8);
  end.writeUInt16LE(zip64 ? U16 : entries, 10);
  end.writeUInt32LE(zip64 ? U32 : directorySize, 12);
  end.writeUInt32LE(zip64 ? U32 : directoryOffset, 16);
  parts.push(end);
  return Buffer.concat(parts);
}
