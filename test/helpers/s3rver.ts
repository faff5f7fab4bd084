// A real S3 server on loopback for the tests: the npm package s3rver, in this process, with its own folder.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir } from './archive';

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

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
  /** An on-the-fly rclone remote for `bucket` (path-style, keys inline: for tests only). */
  remote(bucket: string, path?: string): string;
  stop(): Promise<void>;
}

/** Starts s3rver on a free loopback port with the given buckets. */
export async function startS3rver(buckets: string[]): Promise<S3Server> {
  const dir = tempDir('exit-plan-s3rver-');
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
    },
    remote: (bucket, path = '') =>
      `:s3,provider=Other,endpoint='${endpoint}',access_key_id=${S3RVER_KEYS.accessKeyId},` +
      `secret_access_key=${S3RVER_KEYS.secretAccessKey}:${bucket}${path ? `/${path}` : ''}`,
    stop: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
