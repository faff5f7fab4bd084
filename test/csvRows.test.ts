import * as assert from 'node:assert/strict';
import { CsvRowScanner } from '../src/exporters/warehouse/csvRows';

const CSV = 'id,note\n1,plain\n2,"with\nnewline"\n3,"quote "" and\n\nblank lines"\n4,\n5,""\n6,"a,b"\n';
const ROW_ENDS = [8, 16, 33, 63, 66, 71, 79];

describe('CsvRowScanner', () => {
  it('finds row ends outside quotes only, whatever the chunking', () => {
    const data = Buffer.from(CSV);
    for (let size = 1; size <= data.length; size++) {
      const scanner = new CsvRowScanner();
      let rows = 0;
      for (let at = 0; at < data.length; at += size) rows += scanner.scan(data.subarray(at, at + size)).rows;
      assert.equal(rows, ROW_ENDS.length, `chunk size ${size}`);
      assert.equal(scanner.insideQuotes, false);
    }
  });

  it('stops after the asked number of rows, at the byte after the newline', () => {
    const data = Buffer.from(CSV);
    const scanner = new CsvRowScanner();
    let offset = 0;
    const ends: number[] = [];
    while (offset < data.length) {
      const { rows, end } = scanner.scan(data, offset, 1);
      if (rows === 1) ends.push(end);
      offset = end;
    }
    assert.deepEqual(ends, ROW_ENDS);
  });

  it('remembers an open quote across chunks', () => {
    const scanner = new CsvRowScanner();
    assert.deepEqual(scanner.scan(Buffer.from('1,"open\n')), { rows: 0, end: 8 });
    assert.equal(scanner.insideQuotes, true);
    assert.deepEqual(scanner.scan(Buffer.from('still"\n2,x\n')), { rows: 2, end: 11 });
  });
});
