// Issue 16: what `--subset` and `--subset-skip` take, read as SQL names, and the archive's label.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseSubsetRoot, parseSubsetSkip, subsetLabel } from '../src/exporters';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('subset specs', () => {
  it('reads schema.table: predicate with SQL names: unquoted folded to lower case, quoted kept exactly', () => {
    assert.deepEqual(parseSubsetRoot('public.organizations: id = 42'), { schema: 'public', name: 'organizations', predicate: 'id = 42' });
    assert.deepEqual(parseSubsetRoot('  Public . Orgs :id=1 '), { schema: 'public', name: 'orgs', predicate: 'id=1' });
    assert.deepEqual(parseSubsetRoot('"Sales"."Org: ""A"".b": name = \'x: y\''), {
      schema: 'Sales',
      name: 'Org: "A".b',
      predicate: "name = 'x: y'",
    });
    assert.deepEqual(parseSubsetRoot('организации: id = 1'), { name: 'организации', predicate: 'id = 1' });
    assert.deepEqual(parseSubsetRoot('t: a = 1\nOR b = 2'), { name: 't', predicate: 'a = 1\nOR b = 2' });
  });

  it('refuses what is not schema.table: predicate, in one sentence', () => {
    const cases: [string, RegExp][] = [
      ['organizations id = 1', /a colon must follow the table name\.$/],
      ['organizations:   ', /the predicate after the colon is empty\.$/],
      ['"open: id = 1', /a quoted name is not closed/],
      ['"": id = 1', /a quoted name is empty\.$/],
      [': id = 1', /expected a table name/],
      ['a.b.c: x', /a colon must follow the table name\.$/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseSubsetRoot(text), message, text);
  });

  it('reads schema.table(col, …) for a foreign key to skip', () => {
    assert.deepEqual(parseSubsetSkip('public.messages(sender_id)'), { schema: 'public', name: 'messages', columns: ['sender_id'] });
    assert.deepEqual(parseSubsetSkip('read_marks ( Channel_Id , "User Id" )'), { name: 'read_marks', columns: ['channel_id', 'User Id'] });
    assert.throws(() => parseSubsetSkip('messages'), /the columns must follow in parentheses\.$/);
    assert.throws(() => parseSubsetSkip('messages(a b)'), /expected "," or "\)" after column a\.$/);
    assert.throws(() => parseSubsetSkip('messages(a) x'), /unexpected text after "\)"\.$/);
  });

  it('labels archives with letters, digits and dashes, short, and apart for different long subsets', () => {
    assert.equal(subsetLabel([{ schema: 'public', name: 'organizations', predicate: 'id = 42' }], sha), 'organizations-id-42');
    assert.equal(
      subsetLabel(
        [
          { name: 'Orgs', predicate: "slug = 'açaí/../x'" },
          { name: 'users', predicate: 'id IN (1, 2)' },
        ],
        sha,
      ),
      'orgs-slug-acai-x+users-id-in-1-2',
    );
    const long = (n: number) =>
      subsetLabel([{ name: 'organizations', predicate: `id IN (${Array.from({ length: 30 }, (_, i) => i + n).join(', ')})` }], sha);
    assert.ok(long(1).length <= 60 && long(2).length <= 60);
    assert.notEqual(long(1), long(2));
    assert.match(long(1), /^organizations-id-in-1-2-3[a-z0-9-]*-[0-9a-f]{8}$/);
    assert.equal(subsetLabel([{ name: 'Ω', predicate: '"Ω" > 0' }], sha), 'table-0');
  });
});
