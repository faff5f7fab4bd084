// The shared wording of times and sizes for people: one way in every view.
import * as assert from 'node:assert/strict';
import { formatAgo } from '../src/exporters';

describe('formatAgo: how long ago, one way everywhere', () => {
  it('says "just now" under a minute and for a time in the future (a clock that jumped back)', () => {
    assert.equal(formatAgo(0), 'just now');
    assert.equal(formatAgo(59_000), 'just now');
    assert.equal(formatAgo(-3_600_000), 'just now');
    assert.equal(formatAgo(Number.NaN), 'just now');
  });

  it('counts minutes, then hours up to two days, then days', () => {
    assert.equal(formatAgo(60_000), '1 min ago');
    assert.equal(formatAgo(59 * 60_000), '59 min ago');
    assert.equal(formatAgo(3 * 3_600_000), '3 h ago');
    assert.equal(formatAgo(47 * 3_600_000), '47 h ago');
    assert.equal(formatAgo(5 * 86_400_000), '5 days ago');
  });
});
