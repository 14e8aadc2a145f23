import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type RgwServer, startRgw } from '../services/rgw.js';
import { deploymentScenario } from './scenario.js';

const BUCKET = 'notes-api-backups';
let rgw: RgwServer | undefined;

deploymentScenario({
  mix: 'litestream-aws',
  async start() {
    rgw = await startRgw();
    await rgw.createBucket(BUCKET);
  },
  async stop() {
    await rgw?.stop();
  },
  // An S3-compatible store, reached the way a user of R2/B2/MinIO reaches theirs: through the
  // optional AWS_ENDPOINT_URL_S3 / AWS_REGION secrets the generated workflow writes to .env and
  // litestream.yml reads (path-style requests and WHEN_REQUIRED checksums follow from it).
  secrets: () => ({
    AWS_S3_BUCKET: BUCKET,
    AWS_ACCESS_KEY_ID: rgw?.credentials.accessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: rgw?.credentials.secretAccessKey ?? '',
    AWS_ENDPOINT_URL_S3: rgw?.endpoint ?? '',
    AWS_REGION: rgw?.region ?? 'us-east-1',
  }),
  sidecarEnv: () => ({}),
  async listReplica(prefix) {
    if (!rgw) return [];
    const s3 = new S3Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      forcePathStyle: true,
      credentials: rgw.credentials,
    });
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) names.push(String(o.Key).slice(prefix.length + 1));
      token = page.NextContinuationToken;
    } while (token);
    s3.destroy();
    return names;
  },
});
