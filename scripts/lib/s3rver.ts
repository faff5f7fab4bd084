// A real S3 server on loopback for the tests and benchmarks: the npm package s3rver, in this process, with its own
// folder. Dev only. `node out/scripts/lib/s3rver.js BUCKET…` runs one in a process of its own (the benchmarks: a server
// in the benchmark's own process would share its event loop) and prints `{ endpoint, port, dir }` as one JSON line.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

/**
 * s3rver 3.7's listing with a delimiter never looks inside a folder two levels below the prefix, so a folder that
 * holds only folders (`photos/` with `photos/2024/a.jpg` in it) is missing from CommonPrefixes, and rclone (or any
 * client) would never see its files. Here the folders s3rver skipped are added, found on its disk (a folder counts
 * when some object is stored below it), on the listing's last page, as S3 would list them.
 */
function fixDelimiterListing(): void {
  type Listed = { objects: { key: string }[]; commonPrefixes: string[]; isTruncated: boolean };
  type Options = { delimiter?: string; prefix?: string; startAfter?: string; maxKeys?: number };
  type Store = { getBucketPath(bucket: string): string; listObjects(bucket: string, options: Options): Promise<Listed> };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const store = require('s3rver/lib/stores/filesystem') as { prototype: Store & { fixedByExitPlan?: boolean } };
  if (store.prototype.fixedByExitPlan) return;
  const listObjects = store.prototype.listObjects;
  const holdsObject = (dir: string): boolean =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .some((e) => (e.isDirectory() ? holdsObject(path.join(dir, e.name)) : e.name.endsWith('._S3rver_object')));
  store.prototype.listObjects = async function (this: Store, bucket: string, options: Options): Promise<Listed> {
    const listed = await listObjects.call(this, bucket, options);
    if (options.delimiter !== '/' || listed.isTruncated) return listed;
    const prefix = options.prefix ?? '';
    const cut = prefix.lastIndexOf('/') + 1;
    const dir = path.join(this.getBucketPath(bucket), prefix.slice(0, cut));
    const prefixes = new Set(listed.commonPrefixes);
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      // No such folder: nothing below the prefix.
    }
    for (const entry of entries) {
      const folder = `${prefix.slice(0, cut)}${entry.name}/`;
      if (!entry.isDirectory() || !folder.startsWith(prefix) || folder <= (options.startAfter ?? '')) continue;
      if (holdsObject(path.join(dir, entry.name))) prefixes.add(folder);
    }
    return { ...listed, commonPrefixes: [...prefixes].sort() };
  };
  store.prototype.fixedByExitPlan = true;
}

/** s3rver's fixed credentials. */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** The domain s3rver answers virtual-host requests for (`<bucket>.s3.<domain>`), reached through `proxy`. */
const SERVICE_DOMAIN = 'exit-plan.test';

export interface S3Server {
  /** `http://127.0.0.1:PORT`: path-style requests (rclone `provider=Other`, `force_path_style`). */
  endpoint: string;
  port: number;
  /** s3rver's storage folder. */
  dir: string;
  /**
   * rclone's `provider=AWS` always uses virtual-host requests (`<bucket>.<endpoint host>`), which need DNS. With
   * this environment (an HTTP proxy on loopback that sends every request to s3rver, and an endpoint whose host
   * s3rver reads buckets from) a command written for AWS, such as the SAS panel's, runs unchanged against s3rver.
   * Go sends no loopback request through a proxy, so Azurite and other local servers are still reached directly.
   */
  awsEnv: NodeJS.ProcessEnv;
  /**
   * An on-the-fly rclone remote for `bucket` (path-style, keys inline: for tests only). Like `awsEnv`, it turns off
   * rclone's `encoding-type=url` listings, which s3rver ignores (a key with `%` in it would be decoded wrongly and
   * copied again on every run): set RCLONE_S3_LIST_URL_ENCODE=false for any other remote that reaches s3rver.
   */
  remote(bucket: string, path?: string): string;
  stop(): Promise<void>;
}

/** Starts s3rver on a free loopback port with the given buckets. */
export async function startS3rver(buckets: string[]): Promise<S3Server> {
  fixDelimiterListing();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    serviceEndpoint: SERVICE_DOMAIN,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    dir,
    awsEnv: {
      HTTP_PROXY: `http://127.0.0.1:${proxyPort}`,
      http_proxy: `http://127.0.0.1:${proxyPort}`,
      RCLONE_S3_ENDPOINT: `http://s3.${SERVICE_DOMAIN}:${port}`,
      AWS_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
      RCLONE_S3_LIST_URL_ENCODE: 'false',
    },
    remote: (bucket, path = '') =>
      `:s3,provider=Other,endpoint='${endpoint}',list_url_encode=false,access_key_id=${S3RVER_KEYS.accessKeyId},` +
      `secret_access_key=${S3RVER_KEYS.secretAccessKey}:${bucket}${path ? `/${path}` : ''}`,
    stop: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (require.main === module) {
  void startS3rver(process.argv.slice(2)).then((server) => {
    process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, port: server.port, dir: server.dir })}\n`);
    const stop = () => void server.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
