// s3rver on loopback for the tests: see scripts/lib/s3rver.ts.
export { S3RVER_KEYS, startS3rver, type S3Server } from '../../scripts/lib/s3rver';
