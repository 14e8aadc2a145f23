import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LoggingConfig } from './config/types.js';

// pino-pretty (and its dozen dependencies) loads only for text logs: a replicate process that
// logs JSON never pays for it. CommonJS, so a plain require keeps createLogger synchronous.
const require = createRequire(import.meta.url);

export type { Logger } from 'pino';

/**
 * The runtime's structured logger: human-readable text on a TTY (or with type: text),
 * one JSON object per line with `logging.type: json`. Logs go to stderr unless
 * `logging.stderr: false`, so stdout stays free for command output.
 */
export function createLogger(cfg: Partial<LoggingConfig> = {}): Logger {
  const level = process.env.LS_MIX_LOG_LEVEL ?? cfg.level ?? 'info';
  const fd = cfg.stderr === false ? 1 : 2;
  const redact = {
    paths: [
      'password',
      'secretAccessKey',
      'accountKey',
      'passphrase',
      'token',
      '*.password',
      '*.secretAccessKey',
    ],
    censor: '[redacted]',
  };
  if (cfg.type === 'json') {
    return pino({ level, redact, base: undefined }, pino.destination({ fd, sync: true }));
  }
  // pino-pretty as an in-thread stream (not a worker transport): lines written just before
  // exit, such as the final sync's, are never lost.
  const pretty = require('pino-pretty') as typeof PinoPretty;
  const stream = pretty({
    destination: fd,
    sync: true,
    colorize: process.stderr.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return pino({ level, redact, base: undefined }, stream);
}

/** A logger that drops everything: for library callers and tests that don't care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Replace the password in a URL (sftp://user:pass@host) before it reaches a log or an error. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]+):[^@/]*@/i, '$1:[redacted]@');
}
