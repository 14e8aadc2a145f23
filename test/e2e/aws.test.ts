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
  secrets: () => ({
    AWS_S3_BUCKET: BUCKET,
    AWS_ACCESS_KEY_ID: rgw?.credentials.accessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: rgw?.credentials.secretAccessKey ?? '',
  }),
  // The generated litestream.yml is for AWS itself (no endpoint): the SDK's standard settings
  // point it at the local Ceph RGW instead (an IP endpoint means path-style requests).
  sidecarEnv: () => ({
    AWS_ENDPOINT_URL_S3: rgw?.endpoint ?? '',
    AWS_REGION: rgw?.region ?? 'us-east-1',
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  }),
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
