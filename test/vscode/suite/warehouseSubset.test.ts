// Export Subset… in the real extension host, against the real PostgreSQL of the unit tests: a small
// multi-tenant warehouse (organisations, users invited across organisations, channels, messages sent across
// them, an unrelated settings table). The user's answers are scripted; what the quick pick shows, the archive,
// its manifest and the rows of its CSV files are asserted.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readCsvRows } from '../../../src/exporters/shared/csvFile';
import { SUBSET_RULE, subsetLabel } from '../../../src/exporters/warehouse/subsetSpec';
import { verifyArchive } from '../../../src/exporters/warehouse/verify';
import { unzipArchive } from '../../helpers/archive';
import {
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  addWarehouseConnection,
  eventually,
  exitPlan,
  makeWarehouse,
  removeThroughTree,
  setSetting,
  treeItems,
  type Warehouse,
} from '../host';

const NAME = 'Tenants (subset)';
const DATABASE = 'tenants warehouse';
/** Organisation 1's name: quotes, a newline and letters outside ASCII, as a CSV must keep them. */
const ACME = 'Ærø "Acme"\nLtd';

// Users 2 (organisation 1) invited user 4 (organisation 2) and user 3 (organisation 2) invited user 5
// (organisation 1): invited_by crosses organisations. Message 3 was sent by user 4 (organisation 2) into
// channel 2 (organisation 1); message 5 by user 1 (organisation 1) into channel 3 (organisation 2).
const SQL = `
CREATE TABLE organizations (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE users (
  id int PRIMARY KEY,
  org_id int NOT NULL REFERENCES organizations,
  name text NOT NULL,
  invited_by int REFERENCES users
);
CREATE TABLE channels (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, name text NOT NULL);
CREATE TABLE messages (
  id int PRIMARY KEY,
  channel_id int NOT NULL REFERENCES channels,
  sender_id int NOT NULL REFERENCES users,
  body text NOT NULL
);
CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO organizations VALUES (1, ${sqlText(ACME)}), (2, 'Globex'), (3, 'Initech');
INSERT INTO users VALUES
  (1, 1, 'alice', NULL), (3, 2, 'carol', NULL), (7, 3, 'grace', NULL),
  (2, 1, 'bob', 1), (4, 2, 'dave', 2), (5, 1, 'erin', 3), (6, 2, 'frank', 3);
INSERT INTO channels VALUES (1, 1, 'general'), (2, 1, 'random'), (3, 2, 'general'), (4, 3, 'general');
INSERT INTO messages VALUES
  (1, 1, 1, 'hello'), (2, 1, 2, 'hi'), (3, 2, 4, 'from globex'), (4, 3, 3, 'globex only'),
  (5, 3, 1, 'from acme'), (6, 4, 7, 'initech only'), (7, 3, 6, 'globex again');
INSERT INTO settings VALUES ('theme', 'dark'), ('locale', 'fr');
CREATE VIEW org_names AS SELECT id, name FROM organizations;
CREATE SCHEMA "Données";
CREATE TABLE "Données"."Équipe ""A""" (id int PRIMARY KEY, nom text NOT NULL);
CREATE TABLE "Données".membres (id int PRIMARY KEY, "Équipe" int NOT NULL REFERENCES "Données"."Équipe ""A""", nom text NOT NULL);
INSERT INTO "Données"."Équipe ""A""" VALUES (1, 'Rouge'), (2, 'Bleu');
INSERT INTO "Données".membres VALUES (1, 1, 'Zoë'), (2, 2, 'Łukasz'), (3, 1, '山田');
`;

/**
 * The rule worked by hand for organisation 1 (`id = 1`). Down: its users 1, 2, 5 and channels 1, 2; the
 * messages in those channels (1, 2, 3) or sent by those users (1, 2, 5). Up: message 3's sender 4, message 5's
 * channel 3, erin's inviter 3, and their organisation 2. users.invited_by is never followed down (dave, invited
 * by bob, is in only as a sender). Users 6, 7, channel 4, messages 4, 6, 7 and organisation 3 stay out.
 */
const ORG1 = {
  'public.organizations': [1, 2],
  'public.users': [1, 2, 3, 4, 5],
  'public.channels': [1, 2, 3],
  'public.messages': [1, 2, 3, 5],
};
/** The same with messages(sender_id) cut from the downward walk: message 5 and its channel 3 stay out. */
const ORG1_CUT = {
  'public.organizations': [1, 2],
  'public.users': [1, 2, 3, 4, 5],
  'public.channels': [1, 2],
  'public.messages': [1, 2, 3],
};

describe('Export Subset (real VS Code, real PostgreSQL)', function () {
  this.timeout(180_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let warehouse: Warehouse;

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.warehouse.connections', 'exitPlan.exportFolder', 'exitPlan.export.includeViews']);
    await setSetting('exitPlan.exportFolder', undefined);
    await setSetting('exitPlan.export.includeViews', undefined);
    warehouse = await makeWarehouse({ database: DATABASE, user: 'tenants_owner', sql: SQL });
    await addWarehouseConnection(NAME, warehouse);
  });

  after(async () => {
    const api = await exitPlan();
    await removeThroughTree(api.warehouseTree, NAME, 'exitPlan.removeWarehouseConnection', /^Remove the warehouse connection/);
    await settings.restore();
    temp.removeAll();
  });

  /** The node of `public.<name>` in the Warehouse tree, as its context menu gets it. */
  async function tableNode(name: string, schema = 'public'): Promise<unknown> {
    const table = await findTable(name, schema);
    assert.ok(table, `no table ${name} under ${schema}`);
    assert.equal(table.contextValue, 'warehouseTable', 'Export Subset… is on the context menu of warehouseTable nodes');
    return table.node;
  }

  async function findTable(name: string, schemaName = 'public') {
    const api = await exitPlan();
    const connection = (await treeItems(api.warehouseTree)).find((r) => r.label === NAME);
    assert.ok(connection, `no "${NAME}" in the Warehouse tree`);
    const schema = (await treeItems(api.warehouseTree, connection.node)).find((s) => s.label === schemaName);
    assert.ok(schema, `no schema ${schemaName} under the connection`);
    return (await treeItems(api.warehouseTree, schema.node)).find((t) => t.label === name);
  }

  const predicateBox = /^Export Subset of "Tenants \(subset\)" \| public\.organizations: … the rows to start from/;
  const countsPick = (predicate: string, total: string) =>
    new RegExp(`^Export Subset of "Tenants \\(subset\\)": public\\.organizations: ${escape(predicate)} \\| ${escape(total)}$`);

  it('shows the counts per table and key; cutting a key and including unrelated tables count again; exports that subset', async () => {
    const out = temp.make('subset');
    const user = new ScriptedUser().answer(
      { when: predicateBox, answer: 'id = 1' },
      { when: countsPick('id = 1', '14 rows in 4 tables, 3 tables left out'), answer: '$(debug-disconnect) Cut Foreign Keys…' },
      { when: /^Cut Foreign Keys: public\.organizations: id = 1 \| /, answer: 'public.messages(sender_id) → public.users' },
      { when: countsPick('id = 1', '12 rows in 4 tables, 3 tables left out'), answer: '$(add) Include Unrelated Tables' },
      {
        when: countsPick('id = 1', '19 rows in 7 tables, 3 unrelated tables exported whole'),
        answer: '$(remove) Leave Out Unrelated Tables',
      },
      { when: countsPick('id = 1', '12 rows in 4 tables, 3 tables left out'), answer: '$(export) Export 12 rows…' },
      { when: /^Exit Plan: folder for the export archive \| Export Here$/, answer: out },
    );
    await vscode.commands.executeCommand('exitPlan.exportSubset', await tableNode('organizations'));
    user.assertNoErrors();
    user.done();

    assert.equal(user.inputs[0].placeHolder, 'id = 42');
    assert.equal(user.inputs[0].value, '', 'nothing remembered yet for this table');

    // The first counts: every table's rows, the keys followed down and up, the table left out.
    const first = described(user.picks[0].items);
    assert.deepEqual(
      first.slice(0, 4).map((i) => i.label),
      ['$(export) Export 14 rows…', '$(debug-disconnect) Cut Foreign Keys…', '$(add) Include Unrelated Tables', '$(edit) Edit Predicate…'],
      'the actions come first',
    );
    assert.equal(descriptionOf(first, '$(edit) Edit Predicate…'), 'id = 1');
    assert.deepEqual(section(first, 'Tables'), tableCounts(ORG1, 'public.organizations'));
    const down = section(first, 'Foreign keys followed down');
    assert.equal(down['public.users(org_id) → public.organizations'], '3 rows');
    assert.equal(down['public.channels(org_id) → public.organizations'], '2 rows');
    assert.equal(
      rowsOf(down['public.messages(channel_id) → public.channels']) + rowsOf(down['public.messages(sender_id) → public.users']),
      4,
      `messages brought in down: ${JSON.stringify(down)}`,
    );
    assert.ok(!('public.users(invited_by) → public.users' in down), 'a self-reference is not followed down');
    const up = section(first, 'Foreign keys followed up');
    assert.ok('public.users(invited_by) → public.users' in up, `followed up: ${JSON.stringify(up)}`);
    assert.equal(
      Object.values(up).reduce((n, d) => n + rowsOf(d), 0),
      4,
      `the up-walk's rows: users 3, 4, channel 3, organisation 2`,
    );
    assert.deepEqual(section(first, 'Unrelated tables, left out'), {
      'public.settings': 'left out',
      'Données.Équipe "A"': 'left out',
      'Données.membres': 'left out',
    });

    // Cut Foreign Keys offers the keys followed down, nothing checked yet.
    const cut = user.picks[1].items;
    assert.deepEqual(cut.map((i) => i.label).sort(), Object.keys(down).sort());
    assert.ok(cut.every((i) => !i.picked));

    // Counted again without messages(sender_id): message 5 and channel 3 are gone.
    const second = described(user.picks[2].items);
    assert.equal(second[0].label, '$(export) Export 12 rows…');
    assert.equal(descriptionOf(second, '$(debug-disconnect) Cut Foreign Keys…'), '1 cut');
    assert.deepEqual(section(second, 'Tables'), tableCounts(ORG1_CUT, 'public.organizations'));
    assert.ok(!('public.messages(sender_id) → public.users' in section(second, 'Foreign keys followed down')));

    // Unrelated tables included: whole; then left out again.
    const third = described(user.picks[3].items);
    assert.equal(descriptionOf(second, '$(add) Include Unrelated Tables'), '3 tables, whole');
    assert.deepEqual(section(third, 'Tables'), {
      ...tableCounts(ORG1_CUT, 'public.organizations'),
      'public.settings': '2 rows · unrelated, whole',
      'Données.Équipe "A"': '2 rows · unrelated, whole',
      'Données.membres': '3 rows · unrelated, whole',
    });
    assert.equal(descriptionOf(third, '$(remove) Leave Out Unrelated Tables'), '3 tables');
    assert.deepEqual(section(described(user.picks[4].items), 'Tables'), tableCounts(ORG1_CUT, 'public.organizations'));

    // The success message says it was a subset; the archive is <database>_<label>_<stamp>.zip.
    assert.equal(user.shown.length, 1, JSON.stringify(user.shown));
    const match = /^Exported the subset public\.organizations: id = 1 \(4 tables, 12 rows\) to (.+)$/.exec(user.shown[0].message);
    assert.ok(match, `shown: ${user.shown[0].message}`);
    assert.deepEqual(user.offered[0].buttons, ['Reveal in File Explorer', 'Copy Path']);
    const archive = match[1];
    assert.equal(path.dirname(archive), out);
    assert.match(path.basename(archive), /^tenants warehouse_organizations-id-1_\d{4}-\d{2}-\d{2}T\d{6}Z\.zip$/);
    assert.deepEqual(fs.readdirSync(out), [path.basename(archive)], 'only the archive is left in the folder');
    assert.equal((await verifyArchive(archive)).rows, 12);

    const { dir, manifest } = unzipArchive(archive);
    try {
      assert.ok(manifest.subset, 'the manifest has subset');
      assert.deepEqual(manifest.subset.roots, [{ schema: 'public', name: 'organizations', predicate: 'id = 1', rows: 1 }]);
      assert.equal(manifest.subset.rule, SUBSET_RULE);
      assert.equal(manifest.subset.includeUnrelated, false);
      assert.deepEqual(manifest.subset.skip, [{ schema: 'public', name: 'messages', columns: ['sender_id'] }]);
      assert.deepEqual(
        [...manifest.subset.unrelated].sort((a, b) => (a.name < b.name ? -1 : 1)),
        [
          { schema: 'Données', name: 'membres', exported: 'left out' },
          { schema: 'public', name: 'settings', exported: 'left out' },
          { schema: 'Données', name: 'Équipe "A"', exported: 'left out' },
        ],
      );
      assert.ok(
        manifest.subset.edges.some((e) => e.direction === 'up' && e.from === 'public.messages' && e.columns.join() === 'sender_id'),
        'the cut key is still followed up',
      );
      // Each CSV holds the subset's rows, no other organisation's.
      const ids: Record<string, number[]> = {};
      let acme: string | undefined;
      for (const t of manifest.tables) {
        const key = `${t.schema}.${t.name}`;
        ids[key] = [];
        // readCsvRows skips the header: the columns are the manifest's (none generated here).
        const columns = t.columns.map((c) => c.name);
        for (const file of t.files) {
          for await (const row of readCsvRows(path.join(dir, file.name))) {
            ids[key].push(Number(row[columns.indexOf('id')]));
            if (key === 'public.organizations' && row[0] === '1') acme = row[columns.indexOf('name')];
          }
        }
        ids[key].sort((a, b) => a - b);
      }
      assert.deepEqual(ids, ORG1_CUT);
      assert.equal(acme, ACME, 'quotes, a newline and non-ASCII letters arrive intact');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('remembers the predicate; Edit Predicate… counts again; Escape on the counts exports nothing', async () => {
    const user = new ScriptedUser().answer(
      { when: predicateBox, answer: 'id = 2' },
      // Organisation 2: its users 3, 4, 6, channel 3, messages 3, 4, 5, 7; up: users 1, 2, channel 2, organisation 1.
      { when: countsPick('id = 2', '13 rows in 4 tables, 3 tables left out'), answer: '$(edit) Edit Predicate…' },
      { when: predicateBox, answer: 'id = 3' },
      // Organisation 3 keeps to itself: grace, her channel and her message.
      { when: countsPick('id = 3', '4 rows in 4 tables, 3 tables left out'), answer: undefined },
    );
    await vscode.commands.executeCommand('exitPlan.exportSubset', await tableNode('organizations'));
    user.assertNoErrors();
    user.done();
    assert.equal(user.inputs[0].value, 'id = 1', 'the last predicate of this table is prefilled');
    assert.equal(user.inputs[1].value, 'id = 2', 'Edit Predicate… starts from the one counted');
    assert.deepEqual(user.shown, [], 'nothing said');
    assert.deepEqual(user.dialogs, [], 'no folder asked for');
    assert.deepEqual(section(described(user.picks[0].items), 'Tables'), {
      'public.organizations': '2 rows · root',
      'public.users': '5 rows',
      'public.channels': '2 rows',
      'public.messages': '4 rows',
    });
    assert.deepEqual(section(described(user.picks[1].items), 'Tables'), {
      'public.organizations': '1 row · root',
      'public.users': '1 row',
      'public.channels': '1 row',
      'public.messages': '1 row',
    });
    assert.deepEqual(section(described(user.picks[1].items), 'Foreign keys followed up'), {}, 'nothing from other organisations');
  });

  it('a predicate that matches nothing, or is not SQL: one sentence, with Edit Predicate, which asks again with it', async () => {
    for (const predicate of ['id = 999', 'id = = 1']) {
      const user = new ScriptedUser().answer({ when: predicateBox, answer: predicate });
      await vscode.commands.executeCommand('exitPlan.exportSubset', await tableNode('organizations'));
      user.done();
      assert.deepEqual(user.picks, [], 'no counts shown');
      const errors = user.errors();
      assert.equal(errors.length, 1, JSON.stringify(user.shown));
      assert.match(errors[0].message, /^[^\n]+\.$/, 'one sentence');
      assert.ok(errors[0].message.includes(predicate), `the sentence names the predicate: ${errors[0].message}`);
      assert.deepEqual(user.offered.at(-1)?.buttons, ['Edit Predicate', 'Show Log']);

      // What Edit Predicate runs: the same table, the failing predicate in the box to fix.
      const again = new ScriptedUser().answer({ when: predicateBox, answer: undefined });
      await vscode.commands.executeCommand('exitPlan.exportSubset', { name: NAME, schema: 'public', table: 'organizations' });
      again.done();
      assert.equal(again.inputs[0].value, predicate);
      assert.deepEqual(again.shown, []);
    }
  });

  it('a root whose schema and name need quoting, non-ASCII rows: counted, exported and named by the core', async () => {
    const out = temp.make('subset-quoted');
    const root = { schema: 'Données', name: 'Équipe "A"', predicate: "nom = 'Rouge'" };
    const user = new ScriptedUser().answer(
      { when: /^Export Subset of "Tenants \(subset\)" \| Données\.Équipe "A": … the rows to start from/, answer: root.predicate },
      {
        when: /^Export Subset of "Tenants \(subset\)": Données\.Équipe "A": nom = 'Rouge' \| 3 rows in 2 tables, 5 tables left out$/,
        answer: '$(export) Export 3 rows…',
      },
      { when: /^Exit Plan: folder for the export archive \| Export Here$/, answer: out },
    );
    await vscode.commands.executeCommand('exitPlan.exportSubset', await tableNode('Équipe "A"', 'Données'));
    user.assertNoErrors();
    user.done();
    const counts = described(user.picks[0].items);
    assert.deepEqual(section(counts, 'Tables'), { 'Données.Équipe "A"': '1 row · root', 'Données.membres': '2 rows' });
    assert.deepEqual(section(counts, 'Foreign keys followed down'), { 'Données.membres(Équipe) → Données.Équipe "A"': '2 rows' });
    assert.equal(user.offered.length, 1, JSON.stringify(user.shown));
    const match = /^Exported the subset Données\.Équipe "A": nom = 'Rouge' \(2 tables, 3 rows\) to (.+)$/.exec(user.shown[0].message);
    assert.ok(match, `shown: ${user.shown[0].message}`);
    const label = subsetLabel([root], () => assert.fail('a short label needs no hash'));
    assert.match(path.basename(match[1]), new RegExp(`^tenants warehouse_${escape(label)}_\\d{4}-\\d{2}-\\d{2}T\\d{6}Z\\.zip$`));
    const { dir, manifest } = unzipArchive(match[1]);
    try {
      assert.deepEqual(manifest.subset?.roots, [{ ...root, rows: 1 }]);
      const members = manifest.tables.find((t) => t.name === 'membres')!;
      const names: string[] = [];
      for (const file of members.files) for await (const row of readCsvRows(path.join(dir, file.name))) names.push(row[2]);
      assert.deepEqual(names.sort(), ['Zoë', '山田']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a view in one sentence: a subset starts from the rows of a table', async () => {
    await setSetting('exitPlan.export.includeViews', true);
    try {
      const view = await eventually('the view to show in the tree', () => findTable('org_names'));
      const user = new ScriptedUser();
      await vscode.commands.executeCommand('exitPlan.exportSubset', view.node);
      user.done();
      assert.deepEqual(user.errors(), [
        {
          severity: 'error',
          message: 'public.org_names is a view: a subset starts from the rows of a table, so right-click a table instead.',
        },
      ]);
      assert.deepEqual(user.asked, [], 'nothing asked');
    } finally {
      await setSetting('exitPlan.export.includeViews', undefined);
    }
  });
});

/** The items with their descriptions, separators included (their label names the section that follows). */
function described(items: vscode.QuickPickItem[]): { label: string; description: string; separator: boolean }[] {
  return items.map((i) => ({ label: i.label, description: i.description ?? '', separator: i.kind === vscode.QuickPickItemKind.Separator }));
}

function descriptionOf(items: ReturnType<typeof described>, label: string): string | undefined {
  return items.find((i) => i.label === label && !i.separator)?.description;
}

/** label → description of the items under the separator `title`, up to the next separator. */
function section(items: ReturnType<typeof described>, title: string): Record<string, string> {
  const start = items.findIndex((i) => i.separator && i.label === title);
  if (start < 0) return {};
  const result: Record<string, string> = {};
  for (const i of items.slice(start + 1)) {
    if (i.separator) break;
    result[i.label] = i.description;
  }
  return result;
}

/** What the Tables section should show for expected ids per table. */
function tableCounts(expected: Record<string, number[]>, root: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(expected).map(([table, ids]) => [
      table,
      `${ids.length} row${ids.length === 1 ? '' : 's'}${table === root ? ' · root' : ''}`,
    ]),
  );
}

/** `3 rows` → 3 (0 when absent). */
function rowsOf(description: string | undefined): number {
  return description ? Number(/^([\d,]+) rows?/.exec(description)?.[1].replace(/,/g, '') ?? NaN) : 0;
}

function sqlText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
