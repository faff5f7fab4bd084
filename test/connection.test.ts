import * as assert from 'node:assert/strict';
import { connectionFromEnv, connectionFromUrl, describeConnection } from '../src/exporters';

describe('connection options', () => {
  it('reads a postgres URL, with escapes, port and sslmode', () => {
    const c = connectionFromUrl('postgresql://r%40der:p%3Ass@db.example.org:6543/my%20warehouse?sslmode=require', {});
    assert.deepEqual(c, {
      host: 'db.example.org',
      port: 6543,
      database: 'my warehouse',
      user: 'r@der',
      password: 'p:ss',
      sslmode: 'require',
    });
    assert.equal(describeConnection(c), 'r@der@db.example.org:6543/my warehouse');
  });

  it('fills what the URL leaves out from PG* variables', () => {
    const env = { PGHOST: 'envhost', PGPORT: '5433', PGUSER: 'envuser', PGPASSWORD: 'envpw', PGDATABASE: 'envdb', PGSSLMODE: 'disable' };
    assert.deepEqual(connectionFromEnv(env), {
      host: 'envhost',
      port: 5433,
      database: 'envdb',
      user: 'envuser',
      password: 'envpw',
      sslmode: 'disable',
    });
    assert.deepEqual(connectionFromUrl('postgres://other@h/', env), {
      host: 'h',
      port: 5433,
      database: 'envdb',
      user: 'other',
      password: 'envpw',
      sslmode: 'disable',
    });
  });

  it('refuses what it cannot use, in one sentence', () => {
    assert.throws(() => connectionFromUrl('mysql://x@y/z', {}), /must start with postgres:\/\//);
    assert.throws(() => connectionFromUrl('not a url', {}), /not valid/);
    assert.throws(() => connectionFromUrl('postgres://h/db?sslmode=maybe', {}), /Unknown sslmode "maybe"/);
    assert.throws(() => connectionFromEnv({ PGPORT: '70000' }), /not a number from 1 to 65535/);
  });
});
