import { createRequire } from 'node:module';
import type Pino from 'pino';
import type { Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LoggingConfig } from './config/types.js';

// pino-pretty (and its dozen dependencies) loads only for text logs: a replicate process that
// logs JSON never pays for it. CommonJS, so a plain require keeps createLogger synchronous.
const require = createRequire(import.meta.url);
/** pino itself loads with the first logger made (lazyLogger: with the first line logged). */
const pinoModule = () => require('pino') as typeof Pino;

export type { Logger } from 'pino';

/** The levels we accept, with pino's numbers for them (lazyLogger compares them; pino stays unloaded). */
const LEVEL_VALUES: Record<LoggingConfig['level'], number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
};
const LEVELS = Object.keys(LEVEL_VALUES) as LoggingConfig['level'][];

/** Go slog's spellings too: case-insensitive, `warning` = `warn`. Unknown names: undefined. */
export function normalizeLevel(name: string | undefined): LoggingConfig['level'] | undefined {
  const n = name
    ?.trim()
    .toLowerCase()
    .replace(/^warning$/, 'warn');
  return LEVELS.find((l) => l === n);
}

/**
 * The runtime's structured logger: human-readable text (the default), or with
 * `logging.type: json` one JSON object per line with the level's name and an RFC 3339 time, as
 * log pipelines expect. Logs go to stdout as Litestream's do; `logging.stderr: true` sends them
 * to stderr. Commands whose stdout is their output (restore, verify, ...) pass stderr: true.
 */
export function createLogger(cfg: Partial<LoggingConfig> = {}): Logger {
  const level = effectiveLevel(cfg);
  const fd = cfg.stderr === true ? 2 : 1;
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
  const pino = pinoModule();
  if (cfg.type === 'json') {
    return pino(
      {
        level,
        redact,
        base: undefined,
        formatters: { level: (label) => ({ level: label }) },
        timestamp: () => `,"time":"${new Date().toISOString()}"`,
      },
      pino.destination({ fd, sync: true }),
    );
  }
  // pino-pretty as an in-thread stream (not a worker transport): lines written just before
  // exit, such as the final sync's, are never lost.
  const pretty = require('pino-pretty') as typeof PinoPretty;
  const stream = pretty({
    destination: fd,
    sync: true,
    colorize: (fd === 2 ? process.stderr : process.stdout).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return pino({ level, redact, base: undefined }, stream);
}

/** A logger that drops everything: for library callers and tests that don't care. */
export function silentLogger(): Logger {
  return pinoModule()({ level: 'silent' });
}

/** The level createLogger(cfg) logs at: LS_MIX_LOG_LEVEL first. */
function effectiveLevel(cfg: Partial<LoggingConfig>): LoggingConfig['level'] {
  return normalizeLevel(process.env.LS_MIX_LOG_LEVEL) ?? cfg.level ?? 'info';
}

/**
 * createLogger(cfg), made when a line at or above its level is first logged: a restore that
 * logs nothing (the usual case) never loads pino and pino-pretty (~2 MiB of RSS). Calls below
 * the level are dropped without making it; children stay lazy the same way.
 */
export function lazyLogger(cfg: Partial<LoggingConfig>): Logger {
  const threshold = LEVEL_VALUES[effectiveLevel(cfg)];
  return lazily(() => createLogger(cfg), threshold);
}

function lazily(make: () => Logger, threshold: number): Logger {
  let real: Logger | undefined;
  const get = () => {
    real ??= make();
    return real;
  };
  const drop = () => undefined;
  return new Proxy({} as Logger, {
    get(_target, key) {
      if (!real && typeof key === 'string') {
        if (Object.hasOwn(LEVEL_VALUES, key) && LEVEL_VALUES[key as LoggingConfig['level']] < threshold)
          return drop;
        if (key === 'isLevelEnabled') {
          // fatal, or any level above ours: enabled.
          return (level: string) => (LEVEL_VALUES[level as LoggingConfig['level']] ?? 60) >= threshold;
        }
        if (key === 'child') {
          return (...args: Parameters<Logger['child']>) =>
            lazily(() => get().child(...args) as unknown as Logger, threshold);
        }
      }
      const value = Reflect.get(get(), key);
      return typeof value === 'function' ? value.bind(real) : value;
    },
    set(_target, key, value) {
      return Reflect.set(get(), key, value);
    },
  });
}

/** Replace the password in a URL (sftp://user:pass@host) before it reaches a log or an error. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]+):[^@/]*@/i, '$1:[redacted]@');
}
