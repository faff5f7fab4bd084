// The export's progress bar weighs tables by their estimated size (the size the Warehouse view shows), not by
// their count: a warehouse of one big table and many small ones must not sit at a few percent while the big
// one streams, nor jump to 90 % when the small ones are done.
import * as assert from 'node:assert/strict';
import { MIN_TABLE_WEIGHT, exportProgressFraction, tableShare, type ExportProgress, type TableWeight } from '../src/exporters';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

function table(estimatedBytes: number, writtenBytes = 0, done = false): TableWeight {
  return { estimatedBytes, writtenBytes, done };
}

function exporting(p: Partial<ExportProgress>): ExportProgress {
  return { phase: 'exporting', tableIndex: 1, tableCount: 1, rows: 0, bytes: 0, ...p };
}

describe('export progress weighted by the tables’ estimated sizes', () => {
  it('nothing done is 0; everything done is 1', () => {
    assert.equal(tableShare([table(GB), table(MB)]), 0);
    assert.equal(tableShare([table(GB, GB, true), table(MB, MB, true)]), 1);
    assert.equal(tableShare([]), 0);
  });

  it('one 1 GB table and ten of 1 MB: the ten small ones done is under 1 % of the work, not 10/11', () => {
    const small = Array.from({ length: 10 }, () => table(MB, MB, true));
    const share = tableShare([table(GB), ...small]);
    assert.ok(share > 0.009 && share < 0.01, `share ${share}`);
    // Counting tables would have said 10 of 11 done.
    assert.ok(share < 10 / 11 / 50);
  });

  it('the big table half streamed moves the bar to about half, though it is one table of eleven', () => {
    const small = Array.from({ length: 10 }, () => table(MB));
    const share = tableShare([table(GB, GB / 2), ...small]);
    assert.ok(Math.abs(share - GB / 2 / (GB + 10 * MB)) < 1e-9, `share ${share}`);
    assert.ok(share > 0.49 && share < 0.5);
  });

  it('a table that writes more than its estimate counts at most 95 % until it is done', () => {
    assert.equal(tableShare([table(MB, 5 * MB)]), 0.95);
    assert.equal(tableShare([table(MB, 5 * MB, true)]), 1);
  });

  it('an empty table or a view (no size) still weighs the minimum', () => {
    assert.equal(tableShare([table(0, 0, true), table(0)]), 0.5);
    const share = tableShare([table(0, 0, true), table(GB)]);
    assert.equal(share, MIN_TABLE_WEIGHT / (MIN_TABLE_WEIGHT + GB));
  });

  it('the bar: the weighted share up to 90 %, then verifying; by count only until the sizes are known', () => {
    assert.equal(exportProgressFraction(exporting({ tableShare: 0.5, tableIndex: 11, tableCount: 11 })), 0.45);
    assert.equal(exportProgressFraction(exporting({ tableShare: 1 })), 0.9);
    assert.equal(exportProgressFraction(exporting({ tableIndex: 3, tableCount: 4 })), 0.45);
    assert.equal(exportProgressFraction({ ...exporting({}), phase: 'verifying' }), 0.9);
  });
});
