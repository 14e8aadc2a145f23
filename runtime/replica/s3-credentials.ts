import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { CredentialSource, S3Credentials } from './s3-http.js';

/**
 * Where an s3 replica's keys come from, in Litestream's order: the config's keys, then
 * LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY, then the AWS default chain.
 * The chain's first link (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, used
 * unless AWS_PROFILE names a profile) is read here; the rest of the chain (profiles, SSO, web
 * identity, ECS and EC2 instance roles) is loaded only when needed, and refreshes expiring keys
 * itself.
 */
export function credentialSource(cfg: ReplicaConfig, env: NodeJS.ProcessEnv = process.env): CredentialSource {
  const accessKeyId = cfg.accessKeyId || env.LITESTREAM_ACCESS_KEY_ID;
  const secretAccessKey = cfg.secretAccessKey || env.LITESTREAM_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) return fixed({ accessKeyId, secretAccessKey });
  if (accessKeyId || secretAccessKey) {
    throw new UserError(`replica "${cfg.name}": only one of access-key-id / secret-access-key is set`, {
      hint: 'set both (or neither, to use the AWS default credential chain)',
    });
  }
  if (!env.AWS_PROFILE && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return fixed({
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    });
  }
  let provider: (() => Promise<S3Credentials>) | undefined;
  return async () => {
    provider ??= (await import('@aws-sdk/credential-provider-node')).defaultProvider();
    return provider();
  };
}

function fixed(creds: S3Credentials): CredentialSource {
  return () => Promise.resolve(creds);
}
