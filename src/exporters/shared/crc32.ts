import * as zlib from 'node:zlib';
import CRC32 from 'crc-32';

type Crc32Fn = (data: Uint8Array, value?: number) => number;
const native = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

/** CRC-32 (as in zip), continued from `previous`; Node's native one where it exists (Node ≥ 20.15). */
export function crc32(data: Uint8Array, previous = 0): number {
  if (native) return native(data, previous);
  return CRC32.buf(data, previous) >>> 0;
}
