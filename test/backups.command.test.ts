// Command backups (a service's own dump tool, e.g. Kobo's mongodump): real sh, pg_dump, pg_restore and tar as the
// commands (no MongoDB server can be started on these machines), named, verified, rotated and restored as a user does.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { backups, CancelledError, type PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tempDir } from './helpers/archive';
import { CLI, runCli, sha256Of, until } from './helpers/backups';
import { postgres } from './helpers/postgres';
import { runBackupsPart } from '../src/exporters/exit/parts/backups';
import type { PartContext } from '../src/exporters/exit/types';

const STAMP = String.raw`\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}`;

/** Is a process with this pid still there (and not a zombie)? */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

describe('backups: command backups', () => {
  describe('names', () => {
    const t = new Date(Date.UTC(2024, 2, 5, 7, 9));

    it("names Kobo's mongo backup as Kobo does and parses it back to exactly one kind", () => {
      const name = backups.commandBackupName('mongo', t, 'mongorestore.tar.gz');
      assert.equal(name, 'mongo_backup__2024.03.05.07_09.mongorestore.tar.gz');
      const parsed = backups.parseBackupName(name);
      assert.deepEqual(parsed, { kind: 'command', source: 'mongo', time: t, gzip: false, copy: 1, extension: 'mongorestore.tar.gz' });
      const copy = backups.copyName(name, 2);
      assert.equal(copy, 'mongo_backup__2024.03.05.07_09-2.mongorestore.tar.gz');
      assert.equal(backups.parseBackupName(copy)?.copy, 2);
      assert.equal(backups.parseBackupName(copy)?.extension, 'mongorestore.tar.gz');
      // Kobo's other two names keep their kinds.
      assert.equal(backups.parseBackupName('postgres_backup_kobotoolbox__2024.03.05.07_09.pg_restore')?.kind, 'postgres');
      assert.equal(backups.parseBackupName('kobocat_media__2024.03.05.07_09.tar')?.kind, 'files');
    });

    it('keeps the three kinds apart: names that look alike parse to one kind, and what cannot be told apart is refused', () => {
      // A command named "postgres" or "x_media", or with the extension "tar": still a command backup.
      assert.equal(backups.parseBackupName(backups.commandBackupName('postgres', t, 'dump'))?.kind, 'command');
      assert.equal(backups.parseBackupName(backups.commandBackupName('postgres', t, 'tar'))?.kind, 'command');
      const media = backups.parseBackupName(backups.commandBackupName('x_media', t, 'tar'));
      assert.equal(media?.kind, 'command');
      assert.equal(media?.source, 'x_media');
      // A folder named "x_backup": still files. A database named "backup": still PostgreSQL.
      assert.equal(backups.parseBackupName(backups.filesBackupName('x_backup', t, false))?.kind, 'files');
      assert.equal(backups.parseBackupName(backups.postgresBackupName('backup', t))?.kind, 'postgres');
      // The extension pg_restore would make `postgres_backup_db_backup__….pg_restore` both: refused.
      assert.throws(() => backups.checkExtension('pg_restore'), /"pg_restore" is the extension of PostgreSQL backups/);
      assert.throws(() => backups.checkExtension('x__y'), /may not contain "__"/);
      assert.throws(() => backups.checkExtension('tar.json'), /"json" and "partial"/);
      assert.throws(() => backups.checkExtension('partial'), /"json" and "partial"/);
      assert.throws(() => backups.checkExtension('a b'), /use letters, digits/);
      assert.throws(() => backups.checkExtension('../x'), /use letters, digits/);
      assert.equal(backups.checkExtension('.mongorestore.tar.gz'), 'mongorestore.tar.gz', 'a leading dot is dropped');
      // Our own sidecars, partial and temporary files are never taken for backups.
      const name = backups.commandBackupName('mongo', t, 'mongorestore.tar.gz');
      for (const other of [`${name}.json`, `${name}.partial`, `${name}.partial.owner`, `${name}.json.1a2b3c4d.tmp`]) {
        assert.equal(backups.parseBackupName(other), undefined, other);
      }
      assert.equal(backups.parseBackupName('mongo_backup__2024.02.30.07_09.gz'), undefined, 'no 30 February');
    });

    it('numbers copies in the same minute before the extension', async () => {
      const dir = tempDir('exit-plan-command-names-');
      const name = backups.commandBackupName('mongo', t, 'mongorestore.tar.gz');
      assert.deepEqual(await backups.nextCopyName(dir, name), { name, copy: 1 });
      fs.writeFileSync(path.join(dir, name), 'x');
      fs.writeFileSync(path.join(dir, backups.copyName(name, 3)), 'x');
      // Another command's `.tar` backups do not count for `.tar.gz` ones.
      fs.writeFileSync(path.join(dir, backups.commandBackupName('mongo', t, 'mongorestore.tar.gz.x')), 'x');
      assert.deepEqual(await backups.nextCopyName(dir, name), { name: 'mongo_backup__2024.03.05.07_09-4.mongorestore.tar.gz', copy: 4 });
    });
  });

  describe('targets', () => {
    it('reads "commands" from a target entry; a target with only commands is valid', () => {
      const target = backups.parseBackupTarget({
        name: 'kobo',
        dir: '/srv/backups',
        commands: [
          {
            name: 'mongo',
            cmd: 'mongodump --archive --gzip',
            extension: '.mongorestore.tar.gz',
            verifyCmd: 'mongorestore --dryRun --archive="$BACKUP_PATH" --gzip',
            restoreCmd: 'mongorestore --drop --archive="$BACKUP_PATH" --gzip',
            timeout: '2 hours',
          },
        ],
      })!;
      assert.deepEqual(target.problems, []);
      assert.deepEqual(target.commands, [
        {
          name: 'mongo',
          cmd: 'mongodump --archive --gzip',
          extension: 'mongorestore.tar.gz',
          verifyCmd: 'mongorestore --dryRun --archive="$BACKUP_PATH" --gzip',
          restoreCmd: 'mongorestore --drop --archive="$BACKUP_PATH" --gzip',
          timeout: { text: '2 hours', ms: 7_200_000 },
        },
      ]);
    });

    it('says what is wrong with each command, and that a target with nothing cannot back up', () => {
      const target = backups.parseBackupTarget({
        name: 'kobo',
        dir: '/srv/backups',
        commands: [
          { name: 'mongo', cmd: 'mongodump --archive', extension: 'pg_restore' },
          { name: 'my mongo', cmd: 'x', extension: 'gz' },
          { name: 'redis', extension: 'rdb' },
          { name: 'ok', cmd: 'x', extension: 'gz', timeout: 'soon' },
          { name: 'same', cmd: 'x', extension: 'gz' },
          { name: 'same', cmd: 'y', extension: 'gz' },
        ],
      })!;
      assert.deepEqual(
        target.commands.map((c) => c.name),
        ['same'],
      );
      assert.equal(target.blocking.length, 5);
      assert.match(target.blocking[0], /^Backup target "kobo", command "mongo": The extension "pg_restore" cannot be used/);
      assert.match(target.blocking[1], /command "my mongo": The name "my mongo" cannot be used in a backup file name/);
      assert.equal(target.blocking[2], 'Backup target "kobo": every entry of "commands" needs a name, a cmd and an extension.');
      assert.match(target.blocking[3], /command "ok": The timeout "soon" is not a duration/);
      assert.match(target.blocking[4], /command "same": another command of this target has the same name/);
      const empty = backups.parseBackupTarget({ name: 'none', dir: '/srv/backups', commands: [] })!;
      assert.deepEqual(empty.blocking, [
        'Backup target "none" has nothing to back up: set "warehouseConnection", "folders" and/or "commands".',
      ]);
    });
  });

  describe('create, verify and restore', () => {
    let source: PgConnectionOptions;
    let restored: PgConnectionOptions;
    let client: Client;
    let restoredClient: Client;
    let env: Record<string, string>;

    before(async () => {
      const pg = await postgres();
      source = await pg.createDatabase('command_source');
      restored = await pg.createDatabase('command_restored');
      client = await pg.client('command_source');
      restoredClient = await pg.client('command_restored');
      await client.query(`CREATE TABLE forms (id int PRIMARY KEY, title text);
        INSERT INTO forms SELECT g, 'Formulaire n° ' || g FROM generate_series(1, 300) g;`);
      env = { PGPASSWORD: source.password!, SOURCE_URL: connectionUrl(source), TARGET_URL: connectionUrl(restored) };
    });

    after(async () => {
      await client?.end();
      await restoredClient?.end();
    });

    it('backs up pg_dump writing to stdout (hashed as written), verified and restored through commands', async () => {
      const dir = path.join(tempDir('exit-plan-command-'), 'backups with spaces');
      const lines: string[] = [];
      const phases = new Set<string>();
      const result = await backups.createCommandBackup({
        name: 'postgres',
        cmd: 'pg_dump --format=custom "$SOURCE_URL"',
        extension: 'dump',
        dir,
        env,
        log: (l) => lines.push(l),
        onProgress: (p) => phases.add(p.phase),
      });
      assert.match(path.basename(result.file), new RegExp(`^postgres_backup__${STAMP}\\.dump$`));
      assert.equal(result.kind, 'command');
      assert.equal(result.bytes, fs.statSync(result.file).size);
      assert.equal(result.sha256, sha256Of(result.file));
      assert.deepEqual([...phases], ['running', 'done']);
      const sidecar = JSON.parse(fs.readFileSync(`${result.file}.json`, 'utf8')) as backups.Sidecar;
      assert.equal(sidecar.kind, 'command');
      assert.equal(sidecar.sha256, result.sha256);
      assert.deepEqual(sidecar.command, {
        name: 'postgres',
        cmd: 'pg_dump --format=custom "$SOURCE_URL"',
        extension: 'dump',
        output: 'stdout',
      });
      assert.deepEqual(listFiles(dir), [path.basename(result.file), `${path.basename(result.file)}.json`].sort());

      const listed = await backups.listBackups(dir);
      assert.equal(listed[0].kind, 'command');
      assert.equal(listed[0].source, 'postgres');
      assert.equal(backups.groupLabel(listed[0].kind, listed[0].source), 'Command postgres');

      const verified = await backups.verifyBackup(result.file, { verifyCmd: 'pg_restore --list "$BACKUP_PATH" > /dev/null' });
      assert.equal(verified.state, 'verified', verified.message);
      assert.equal(verified.message, 'Checksum matches and the verify command accepted it.');
      assert.equal((await backups.readSidecar(result.file))?.verification?.state, 'verified');

      const outcome = await backups.restoreCommandBackup({
        file: result.file,
        restoreCmd: 'pg_restore --no-owner --dbname="$TARGET_URL" "$BACKUP_PATH"',
        verifyCmd: 'pg_restore --list "$BACKUP_PATH" > /dev/null',
        env,
      });
      assert.match(outcome.message, /^Restored postgres_backup__.*\.dump with its restore command, after verification/);
      const rows = await restoredClient.query<{ n: string; title: string }>('SELECT count(*)::text AS n, max(title) AS title FROM forms');
      assert.deepEqual(rows.rows[0], { n: '300', title: 'Formulaire n° 99' });
    });

    it("backs up tar writing $OUTPUT_PATH itself under Kobo's mongo name (spaces, quotes, other scripts)", async () => {
      const media = tempDir('exit-plan-command-media-');
      fs.mkdirSync(path.join(media, "l'été à Nairobi"));
      fs.writeFileSync(path.join(media, "l'été à Nairobi", 'формы "1".txt'), 'données\n');
      fs.writeFileSync(path.join(media, 'line\nbreak.txt'), 'x');
      const dir = tempDir('exit-plan-command-');
      const result = await backups.createCommandBackup({
        name: 'mongo',
        cmd: 'tar -czf "$OUTPUT_PATH" -C "$MEDIA" .',
        extension: 'mongorestore.tar.gz',
        dir,
        env: { MEDIA: media },
      });
      assert.match(path.basename(result.file), new RegExp(`^mongo_backup__${STAMP}\\.mongorestore\\.tar\\.gz$`));
      assert.equal(result.sha256, sha256Of(result.file));
      assert.equal(result.sidecar.command?.output, 'file');
      const out = tempDir('exit-plan-command-out-');
      execFileSync('tar', ['-xzf', result.file, '-C', out]);
      assert.equal(fs.readFileSync(path.join(out, "l'été à Nairobi", 'формы "1".txt'), 'utf8'), 'données\n');
      assert.ok(fs.existsSync(path.join(out, 'line\nbreak.txt')));
      // Two in the same minute: the second is a copy, never over the first.
      const second = await backups.createCommandBackup({
        name: 'mongo',
        cmd: 'tar -czf "$OUTPUT_PATH" -C "$MEDIA" .',
        extension: 'mongorestore.tar.gz',
        dir,
        env: { MEDIA: media },
      });
      assert.notEqual(second.file, result.file);
    });

    it('two backups of one command at once each get their own name, neither overwriting the other', async () => {
      const dir = tempDir('exit-plan-command-');
      const made = await Promise.all(
        ['one', 'two', 'three'].map((word) =>
          backups.createCommandBackup({ name: 'mongo', cmd: `sleep 0.2; printf '%s' '${word}'`, extension: 'gz', dir }),
        ),
      );
      assert.equal(new Set(made.map((m) => m.file)).size, 3);
      assert.deepEqual(made.map((m) => fs.readFileSync(m.file, 'utf8')).sort(), ['one', 'three', 'two']);
      for (const m of made) assert.equal(backups.parseBackupName(path.basename(m.file))?.kind, 'command');
      assert.equal(listFiles(dir).length, 6);
    });

    it('a verify command that hangs past the timeout fails verification, stopped', async () => {
      const dir = tempDir('exit-plan-command-');
      const result = await backups.createCommandBackup({ name: 'mongo', cmd: 'printf x', extension: 'gz', dir });
      const v = await backups.verifyBackup(result.file, { verifyCmd: 'sleep 300', commandTimeoutMs: 300 });
      assert.equal(v.state, 'failed');
      assert.equal(
        v.message,
        'Checksum matches but the verify command ran longer than 300 ms and was stopped (with everything it started).',
      );
    });

    it('a failing command fails in one sentence with its last stderr line (masked) and leaves no file', async () => {
      const dir = tempDir('exit-plan-command-');
      const lines: string[] = [];
      await assert.rejects(
        backups.createCommandBackup({
          name: 'mongo',
          cmd: 'echo partial dump; echo "connecting to mongodb://kobo:s3cret@db/" >&2; echo "Failed: authentication failed" >&2; exit 3',
          extension: 'mongorestore.tar.gz',
          dir,
          log: (l) => lines.push(l),
        }),
        {
          message:
            'The command "mongo" failed (exit 3): Failed: authentication failed; no backup was written and the partial file was removed.',
        },
      );
      assert.deepEqual(listFiles(dir), []);
      assert.ok(lines.includes('mongo: connecting to mongodb://kobo:…@db/'), lines.join('\n'));
      assert.ok(!lines.join('\n').includes('s3cret'));
      await assert.rejects(
        backups.createCommandBackup({ name: 'mongo', cmd: 'echo "postgres://u:pw1@h/db" >&2; exit 1', extension: 'gz', dir }),
        (err: Error) => !err.message.includes('pw1') && /failed \(exit 1\): postgres:\/\/u:…@h\/db;/.test(err.message),
      );
    });

    it('a command that hangs past its timeout is stopped with everything it started; no partial file stays', async () => {
      const dir = tempDir('exit-plan-command-');
      const pids = path.join(tempDir('exit-plan-command-pids-'), 'pids');
      await assert.rejects(
        backups.createCommandBackup({
          name: 'mongo',
          cmd: 'sleep 300 & echo $! >> "$PIDS"; echo $$ >> "$PIDS"; echo started; sleep 300',
          extension: 'gz',
          dir,
          env: { PIDS: pids },
          timeoutMs: 1000,
          killGraceMs: 500,
        }),
        {
          message:
            'The command "mongo" ran longer than 1 second and was stopped (with everything it started); ' +
            'no backup was written and the partial file was removed.',
        },
      );
      const started = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      assert.equal(started.length, 2);
      await until(() => started.every((pid) => !alive(pid)));
      assert.deepEqual(listFiles(dir), []);
    });

    it('a command that writes nothing, or writes both to stdout and to $OUTPUT_PATH, leaves no backup', async () => {
      const dir = tempDir('exit-plan-command-');
      await assert.rejects(backups.createCommandBackup({ name: 'mongo', cmd: 'echo only a warning >&2', extension: 'gz', dir }), {
        message:
          'The command "mongo" exited 0 but wrote nothing (neither to stdout nor to $OUTPUT_PATH); ' +
          'no backup was written and the partial file was removed.',
      });
      await assert.rejects(
        backups.createCommandBackup({ name: 'mongo', cmd: 'echo abc; echo defgh > "$OUTPUT_PATH"', extension: 'gz', dir }),
        {
          message:
            'The command "mongo" wrote to stdout (4 B) and to $OUTPUT_PATH too: ' +
            'write the dump to one of them only (and anything else to stderr); ' +
            'no backup was written and the partial file was removed.',
        },
      );
      await assert.rejects(backups.createCommandBackup({ name: 'mongo', cmd: 'rm "$OUTPUT_PATH"', extension: 'gz', dir }), {
        message: 'The command "mongo" removed $OUTPUT_PATH instead of writing it; no backup was written and the partial file was removed.',
      });
      assert.deepEqual(listFiles(dir), []);
    });

    it('cancel stops the whole process group and removes the partial file', async () => {
      const dir = tempDir('exit-plan-command-');
      const pids = path.join(tempDir('exit-plan-command-pids-'), 'pids');
      const controller = new AbortController();
      const running = backups.createCommandBackup({
        name: 'mongo',
        cmd: 'trap "" TERM; (sleep 300; echo late) & echo $! >> "$PIDS"; echo $$ >> "$PIDS"; while :; do echo data; sleep 0.05; done',
        extension: 'gz',
        dir,
        env: { PIDS: pids },
        killGraceMs: 500,
        signal: controller.signal,
      });
      await until(() => fs.existsSync(pids) && fs.readFileSync(pids, 'utf8').trim().split('\n').length === 2);
      controller.abort();
      await assert.rejects(running, (err: Error) => {
        assert.ok(err instanceof CancelledError, String(err));
        assert.equal(err.message, 'Backup cancelled; no backup was written and the partial file was removed.');
        return true;
      });
      const started = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      await until(() => started.every((pid) => !alive(pid)));
      assert.deepEqual(listFiles(dir), []);
    });

    it('a failing verify command marks the backup failed with its sentence; a changed file fails before any command runs', async () => {
      const dir = tempDir('exit-plan-command-');
      const result = await backups.createCommandBackup({ name: 'mongo', cmd: 'printf "archive"', extension: 'archive', dir });
      const bad = await backups.verifyBackup(result.file, {
        verifyCmd: 'test -s "$BACKUP_PATH" && echo "Failed: archive is damaged (block 3)" >&2 && exit 1',
      });
      assert.equal(bad.state, 'failed');
      assert.equal(bad.message, 'Checksum matches but the verify command failed (exit 1): Failed: archive is damaged (block 3).');
      const listed = await backups.listBackups(dir);
      assert.equal(listed[0].state, 'failed');
      assert.equal(listed[0].stateMessage, bad.message);

      // Without a verify command: the checksum only, and it says so.
      const plain = await backups.verifyBackup(result.file);
      assert.equal(plain.state, 'verified');
      assert.equal(plain.message, 'Checksum matches (no verify command is set, so its contents were not read back).');

      const marker = path.join(dir, '..', `${path.basename(dir)}-ran`);
      fs.appendFileSync(result.file, 'tampered');
      const changed = await backups.verifyBackup(result.file, { verifyCmd: `touch '${marker}'` });
      assert.equal(changed.state, 'failed');
      assert.match(changed.message, /bytes but was 7 bytes when written/);
      assert.ok(!fs.existsSync(marker), 'the verify command did not run on a changed file');
    });

    it('restore refuses a backup that fails verification and says when its restore command fails', async () => {
      const dir = tempDir('exit-plan-command-');
      const marker = path.join(tempDir('exit-plan-command-marker-'), 'restored');
      const result = await backups.createCommandBackup({ name: 'mongo', cmd: 'printf "archive"', extension: 'archive', dir });
      await assert.rejects(
        backups.restoreCommandBackup({
          file: result.file,
          restoreCmd: `touch '${marker}'`,
          verifyCmd: 'echo "not an archive" >&2; exit 2',
        }),
        {
          message:
            `The backup ${path.basename(result.file)} failed verification and will not be restored: ` +
            'Checksum matches but the verify command failed (exit 2): not an archive; nothing was changed.',
        },
      );
      assert.ok(!fs.existsSync(marker));
      await assert.rejects(backups.restoreCommandBackup({ file: result.file, restoreCmd: 'echo "E11000 duplicate key" >&2; exit 1' }), {
        message:
          `The restore command failed (exit 1): E11000 duplicate key while restoring ${path.basename(result.file)}: ` +
          'the service may be partly restored.',
      });
      // The restore command reads the backup at $BACKUP_PATH.
      await backups.restoreCommandBackup({ file: result.file, restoreCmd: `cp "$BACKUP_PATH" '${marker}'` });
      assert.equal(fs.readFileSync(marker, 'utf8'), 'archive');
      // A PostgreSQL restore refuses it.
      await assert.rejects(backups.preflightRestore(result.file, source), /was written by the command "mongo", not by pg_dump/);
    });
  });

  describe('targets, rotation and the report', () => {
    it('backUpTarget runs the commands after the database and the folders and verifies each with its own verify command', async () => {
      const pg = await postgres();
      const db = await pg.createDatabase('command_target');
      const dir = tempDir('exit-plan-command-target-');
      const media = tempDir('exit-plan-command-media-');
      fs.writeFileSync(path.join(media, 'photo.jpg'), 'jpeg');
      const target = backups.parseBackupTarget({
        name: 'kobo',
        dir,
        folders: [{ name: 'kobocat', path: media }],
        commands: [
          { name: 'mongo', cmd: 'printf "{}"', extension: 'mongorestore.tar.gz', verifyCmd: 'test "$(cat "$BACKUP_PATH")" = "{}"' },
        ],
      })!;
      assert.deepEqual(target.blocking, []);
      const steps: string[] = [];
      const result = await backups.backUpTarget({
        target,
        database: () => db,
        verify: true,
        onProgress: (p) => {
          const text = `${p.step} ${p.index}/${p.count}`;
          if (steps.at(-1) !== text) steps.push(text);
        },
      });
      assert.equal(result.ok, true, result.message);
      assert.equal(result.message, '3 backups written and verified.');
      assert.deepEqual(steps, ['database 1/6', 'folder 2/6', 'command 3/6', 'verifying 4/6', 'verifying 5/6', 'verifying 6/6']);
      assert.deepEqual(
        result.backups.map((b) => b.kind),
        ['postgres', 'files', 'command'],
      );
      assert.equal(result.verifications[2].message, 'Checksum matches and the verify command accepted it.');
      const report = await backups.targetReport({ name: 'kobo', dir });
      assert.deepEqual(report.groups.map((g) => g.label).sort(), ['Command mongo', 'Files kobocat', 'PostgreSQL command_target']);
    });

    it("a target's check looks for each command's program without running it", async () => {
      const dir = tempDir('exit-plan-command-check-');
      const marker = path.join(dir, 'ran');
      const result = await backups.checkTarget({
        target: {
          name: 'kobo',
          dir,
          folders: [],
          blocking: [],
          commands: [
            { name: 'pg', cmd: `pg_dump --format=custom; touch '${marker}'`, extension: 'dump' },
            { name: 'mongo', cmd: 'mongodump-not-here --archive --gzip', extension: 'mongorestore.tar.gz' },
            { name: 'sub', cmd: `(cd /tmp && touch '${marker}')`, extension: 'gz' },
          ],
        },
      });
      const commands = result.checks.filter((c) => c.kind === 'command');
      const pgDumpPath = execFileSync('/bin/sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();
      assert.deepEqual(
        commands.map((c) => [c.ok, c.message]),
        [
          [true, `The command "pg" starts with pg_dump, found (${pgDumpPath}).`],
          [false, 'The command "mongo" starts with mongodump-not-here, which is not found on PATH.'],
          [true, 'The command "sub" is a shell line whose program cannot be told without running it; it was not run.'],
        ],
      );
      assert.equal(result.ok, false);
      assert.ok(!fs.existsSync(marker), 'no command was run');
    });

    it('rotates PostgreSQL, media and command backups in one folder, each group by the same rules, the newest of each kept', async () => {
      const dir = tempDir('exit-plan-command-rotation-');
      const day = (d: number) => new Date(Date.UTC(2024, 2, d, 2, 0));
      const write = async (name: string, state?: 'verified') => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, `backup ${name}`);
        const { sha256, bytes } = await backups.hashFile(file);
        const parsed = backups.parseBackupName(name)!;
        const sidecar = backups.newSidecar(file, parsed.kind, { bytes, sha256, started: parsed.time });
        if (state) sidecar.verification = { state, at: parsed.time.toISOString(), message: 'ok' };
        await backups.writeSidecar(file, sidecar);
      };
      for (let d = 1; d <= 5; d++) {
        await write(backups.postgresBackupName('kobotoolbox', day(d)));
        await write(backups.filesBackupName('kobocat', day(d), false));
        // Only the oldest mongo backup was ever verified: the newest verified one stays.
        await write(backups.commandBackupName('mongo', day(d), 'mongorestore.tar.gz'), d === 1 ? 'verified' : undefined);
      }
      const plan = await backups.applyRotation(dir, { keepLast: 2 });
      const kept = (kind: string) =>
        plan.decisions
          .filter((x) => x.action === 'keep' && x.item.kind === kind)
          .map((x) => x.item.time.getUTCDate())
          .sort();
      assert.deepEqual(kept('postgres'), [4, 5]);
      assert.deepEqual(kept('files'), [4, 5]);
      assert.deepEqual(kept('command'), [1, 4, 5]);
      assert.deepEqual(
        listFiles(dir).filter((n) => !n.endsWith('.json')),
        [
          'kobocat_media__2024.03.04.02_00.tar',
          'kobocat_media__2024.03.05.02_00.tar',
          'mongo_backup__2024.03.01.02_00.mongorestore.tar.gz',
          'mongo_backup__2024.03.04.02_00.mongorestore.tar.gz',
          'mongo_backup__2024.03.05.02_00.mongorestore.tar.gz',
          'postgres_backup_kobotoolbox__2024.03.04.02_00.pg_restore',
          'postgres_backup_kobotoolbox__2024.03.05.02_00.pg_restore',
        ],
      );
      assert.equal(listFiles(dir).filter((n) => n.endsWith('.json')).length, 7, 'each removed backup took its sidecar along');
    });
  });

  describe('exit runs', () => {
    it('the backups part copies the newest command backup that verifies, and names the command when none does', async () => {
      const dir = tempDir('exit-plan-command-exit-');
      const older = await backups.createCommandBackup({ name: 'mongo', cmd: 'printf old', extension: 'mongorestore.tar.gz', dir });
      const newest = await backups.createCommandBackup({ name: 'mongo', cmd: 'printf new', extension: 'mongorestore.tar.gz', dir });
      const ctx = (): PartContext => ({
        dir: path.join(tempDir('exit-plan-part-'), 'part'),
        resuming: false,
        resolvers: {} as PartContext['resolvers'],
        now: () => new Date(),
      });
      const first = ctx();
      const outcome = await runBackupsPart({ kind: 'backups', name: 'backups', dir }, first);
      assert.deepEqual(listFiles(first.dir), [path.basename(newest.file), `${path.basename(newest.file)}.json`].sort());
      assert.equal(fs.readFileSync(path.join(first.dir, path.basename(newest.file)), 'utf8'), 'new');
      assert.equal(outcome.verification, 'The copied backup matches the size and SHA-256 its sidecar records.');

      for (const b of [older, newest]) fs.writeFileSync(b.file, 'xyz');
      await assert.rejects(
        runBackupsPart({ kind: 'backups', name: 'backups', dir }, ctx()),
        /no backup of the command "mongo" passes verification/,
      );
    });
  });

  describe('CLI', () => {
    before(() => assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first'));

    it('create-command --json prints { file, bytes, sha256 } and what verification said; a failing verify command exits 1', async () => {
      const dir = tempDir('exit-plan-command-cli-');
      const r = await runCli([
        'backups',
        'create-command',
        '--name',
        'mongo',
        '--cmd',
        "printf '%s' \"it's 100% here\"",
        '--extension',
        'mongorestore.tar.gz',
        '--dir',
        dir,
        '--verify-cmd',
        'grep -q 100% "$BACKUP_PATH"',
        '--json',
        '--quiet',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { file: string; bytes: number; sha256: string; verification: { state: string; message: string } };
      assert.deepEqual(Object.keys(out), ['file', 'bytes', 'sha256', 'verification']);
      assert.equal(fs.readFileSync(out.file, 'utf8'), "it's 100% here");
      assert.equal(out.sha256, sha256Of(out.file));
      assert.deepEqual(out.verification, { state: 'verified', message: 'Checksum matches and the verify command accepted it.' });
      assert.equal(r.stderr, '');

      const plain = await runCli([
        'backups',
        'create-command',
        '--name',
        'x',
        '--cmd',
        'echo y',
        '--extension',
        'txt',
        '--dir',
        dir,
        '--json',
      ]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual(Object.keys(JSON.parse(plain.stdout) as object), ['file', 'bytes', 'sha256']);

      const bad = await runCli([
        'backups',
        'create-command',
        '--name',
        'mongo',
        '--cmd',
        'echo dump',
        '--extension',
        'gz',
        '--dir',
        dir,
        '--verify-cmd',
        'echo "bad archive" >&2; exit 1',
        '--json',
        '--quiet',
      ]);
      assert.equal(bad.code, 1);
      const badOut = JSON.parse(bad.stdout) as { verification: { state: string; message: string } };
      assert.deepEqual(badOut.verification, {
        state: 'failed',
        message: 'Checksum matches but the verify command failed (exit 1): bad archive.',
      });
      assert.match(bad.stderr, /^exit-plan: The backup .*mongo_backup__.*\.gz was written but failed verification: Checksum matches but/m);

      const failing = await runCli(['backups', 'create-command', '--name', 'm', '--cmd', 'exit 4', '--extension', 'gz', '--dir', dir]);
      assert.equal(failing.code, 1);
      assert.match(failing.stderr, /exit-plan: The command "m" failed \(exit 4\) without a message on stderr; no backup was written/);
      const badExt = await runCli(['backups', 'create-command', '--name', 'm', '--cmd', 'x', '--extension', 'pg_restore', '--dir', dir]);
      assert.equal(badExt.code, 1);
      assert.match(badExt.stderr, /The extension "pg_restore" cannot be used for a command backup/);
    });

    it('restore FILE --restore-cmd refuses without --yes, then restores after verification; list and verify show them', async () => {
      const dir = tempDir('exit-plan-command-cli-');
      const marker = path.join(tempDir('exit-plan-command-marker-'), 'restored here');
      const made = await runCli([
        'backups',
        'create-command',
        '--name',
        'mongo',
        '--cmd',
        'echo dump',
        '--extension',
        'gz',
        '--dir',
        dir,
        '--quiet',
      ]);
      assert.equal(made.code, 0, made.stderr);
      const file = made.stdout.trim();
      const restoreCmd = `cp "$BACKUP_PATH" '${marker}'`;

      const refused = await runCli(['backups', 'restore', file, '--restore-cmd', restoreCmd]);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /runs --restore-cmd, which replaces the service's data with the backup's: run again with --yes to confirm; nothing was changed\./,
      );
      assert.ok(!fs.existsSync(marker));
      const noCmd = await runCli(['backups', 'restore', file, '--yes']);
      assert.equal(noCmd.code, 1);
      assert.match(noCmd.stderr, /is a command backup: give the command that restores it with --restore-cmd/);

      const failedVerify = await runCli([
        'backups',
        'restore',
        file,
        '--restore-cmd',
        restoreCmd,
        '--verify-cmd',
        'exit 1',
        '--yes',
        '--quiet',
      ]);
      assert.equal(failedVerify.code, 1);
      assert.match(failedVerify.stderr, /failed verification and will not be restored/);
      assert.ok(!fs.existsSync(marker));

      const ok = await runCli([
        'backups',
        'restore',
        file,
        '--restore-cmd',
        restoreCmd,
        '--verify-cmd',
        'grep -q dump "$BACKUP_PATH"',
        '--yes',
        '--json',
        '--quiet',
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(fs.readFileSync(marker, 'utf8'), 'dump\n');
      const out = JSON.parse(ok.stdout) as { file: string; verification: { state: string } };
      assert.equal(out.file, file);
      assert.equal(out.verification.state, 'verified');

      const failing = await runCli(['backups', 'restore', file, '--restore-cmd', 'echo "cannot connect" >&2; exit 5', '--yes', '--quiet']);
      assert.equal(failing.code, 1);
      assert.match(
        failing.stderr,
        /The restore command failed \(exit 5\): cannot connect while restoring .*: the service may be partly restored\./,
      );

      const pgName = path.join(dir, 'postgres_backup_db__2024.03.05.07_09.pg_restore');
      const wrongKind = await runCli(['backups', 'restore', pgName, '--restore-cmd', restoreCmd, '--yes']);
      assert.equal(wrongKind.code, 1);
      assert.match(
        wrongKind.stderr,
        /is not a command backup: --restore-cmd and --verify-cmd are for <name>_backup__<time>\.<extension> files/,
      );

      const listed = await runCli(['backups', 'list', '--dir', dir, '--json']);
      const entries = (JSON.parse(listed.stdout) as { backups: { kind: string; source: string }[] }).backups;
      assert.deepEqual(
        entries.map((e) => [e.kind, e.source]),
        [['command', 'mongo']],
      );
      const verified = await runCli(['backups', 'verify', '--dir', dir, '--verify-cmd', 'echo "truncated" >&2; exit 3', '--quiet']);
      assert.equal(verified.code, 1);
      assert.match(verified.stdout, /^failed\s+mongo_backup__.*Checksum matches but the verify command failed \(exit 3\): truncated\./m);
    });

    it('cron --cmd prints a crontab line that runs create-command (quotes and % survive cron and sh), then rotation', async () => {
      const dir = path.join(tempDir('exit-plan-command-cli-'), "it's backups");
      const cmd = `printf '%s\\n' "100% of it's data"`;
      const r = await runCli([
        'backups',
        'cron',
        '--cmd',
        cmd,
        '--name',
        'mongo',
        '--extension',
        'mongorestore.tar.gz',
        '--verify-cmd',
        'test -s "$BACKUP_PATH"',
        '--dir',
        dir,
        '--schedule',
        '0 3 * * *',
        '--keep-daily',
        '7',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.stdout.split('\n').find((l) => !l.startsWith('#') && l.trim() !== '')!;
      assert.ok(line.startsWith('0 3 * * * '), line);
      assert.match(
        line,
        / backups create-command --name mongo --cmd .* --extension mongorestore\.tar\.gz --dir .* --quiet --verify-cmd .* && /,
      );
      assert.match(line, / backups rotate --dir .* --keep-daily 7$/);
      // As cron runs it: `\%` becomes `%` (a bare % would be a line break), then /bin/sh -c.
      const command = line.split(' ').slice(5).join(' ');
      assert.ok(!/(^|[^\\])%/.test(command), 'every % is escaped for cron');
      execFileSync('/bin/sh', ['-c', command.replace(/\\%/g, '%')]);
      const made = (await backups.listBackups(dir)).filter((e) => e.kind === 'command');
      assert.equal(made.length, 1);
      assert.equal(fs.readFileSync(made[0].file, 'utf8'), "100% of it's data\n");
      assert.equal(made[0].state, 'verified');

      const both = await runCli(['backups', 'cron', '--cmd', 'x', '--dir', dir, '--schedule', '0 3 * * *']);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /needs --name and --extension with --cmd/);
    });
  });
});
