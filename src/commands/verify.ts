import { Args, Flags } from '@oclif/core';
import { loadConfig } from '../../runtime/config/index.js';
import { UserError } from '../../runtime/errors.js';
import { createLogger, silentLogger } from '../../runtime/log.js';
import { isReplicaUrl } from '../../runtime/replica/url.js';
import { formatLag } from '../../runtime/restore.js';
import {
  type ReplicaVerification,
  type VerifyPoints,
  type VerifyReport,
  verifyReplicas,
} from '../../runtime/verify.js';
import { BaseCommand } from '../base-command.js';
import { byteProgress } from '../progress.js';
import { formatTable, parallelismFlag, replicaFlags } from '../replica-flags.js';
import { openTargetsFromFlags } from '../run/targets.js';

export default class Verify extends BaseCommand {
  static override description =
    'Restore the latest state of every replica into a scratch folder, check it (integrity_check, page by page against the live database) and report the RPO. Exits 1 when any replica fails.';
  static override examples = [
    '<%= config.bin %> verify -config /etc/litestream.yml',
    '<%= config.bin %> verify -config /etc/litestream.yml /data/app.db --json',
    '<%= config.bin %> verify s3://my-bucket/app',
  ];
  static override enableJsonFlag = true;
  static override args = {
    target: Args.string({
      description: 'database path from the config, or a replica URL (default: every database in the config)',
      required: false,
    }),
  };
  static override flags = {
    ...replicaFlags,
    parallelism: parallelismFlag,
    points: Flags.string({
      description:
        'restore earlier points too: "all" (the end of every WAL index of the latest generation) or N (a sample of N); default: the latest only',
      helpValue: 'all|N',
    }),
    'scratch-dir': Flags.string({
      description: 'folder for the scratch restores (default: the OS temp folder)',
      helpValue: 'DIR',
    }),
  };

  async run(): Promise<VerifyReport> {
    const { args, flags } = await this.parse(Verify);
    const points = parsePoints(flags.points);
    const logger = this.verbose ? createLogger({ level: 'debug', stderr: true }) : silentLogger();
    let targets: string[];
    if (args.target) targets = [args.target];
    else {
      const config = await loadConfig(flags.config, { expandEnv: !flags['no-expand-env'] });
      targets = config.dbs.map((d) => d.path);
    }
    const bar = byteProgress(process.stderr.isTTY === true && !this.jsonEnabled());
    const all: ReplicaVerification[] = [];
    for (const target of targets) {
      const t = await openTargetsFromFlags(target, flags, logger);
      try {
        const report = await verifyReplicas({
          dbPath: isReplicaUrl(target) ? undefined : (t.db?.path ?? target),
          replicas: t.replicas,
          scratchDir: flags['scratch-dir'],
          parallelism: flags.parallelism,
          logger,
          points,
          onProgress: (replica, p) => bar.update(`verify ${replica}`, p),
        });
        all.push(...report.replicas);
      } finally {
        bar.stop();
        await t.close();
      }
    }
    const report: VerifyReport = { ok: all.every((r) => r.ok), replicas: all };
    if (!this.jsonEnabled()) this.log(formatReport(report));
    if (!report.ok) process.exitCode = 1;
    return report;
  }
}

function parsePoints(value: string | undefined): VerifyPoints | undefined {
  if (value === undefined || value === 'latest' || value === 'all') return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(`invalid --points "${value}"`, {
      hint: 'Use all, latest, or a whole number of points.',
    });
  }
  return n;
}

function formatReport(report: VerifyReport): string {
  const rows = report.replicas.map((r) => [
    r.db ?? '-',
    r.replica,
    r.ok ? 'ok' : 'FAILED',
    `${(r.restoreMs / 1000).toFixed(2)}s`,
    r.rpoMs === undefined ? '-' : formatLag(r.rpoMs),
    r.generation ? `${r.generation}/${r.index?.toString(16).padStart(8, '0')}:${r.offset}` : '-',
    r.compare
      ? `${r.compare.status}${r.compare.status === 'skipped' ? '' : ` (${r.compare.pages} pages)`}`
      : '-',
  ]);
  const lines = [
    formatTable(['db', 'replica', 'status', 'restore', 'rpo', 'position', 'live compare'], rows),
  ];
  for (const r of report.replicas) {
    if (r.points && r.points.failed.length === 0) {
      lines.push(
        `${r.replica}: ${r.points.checked.length} earlier points restored (WAL indexes ${r.points.checked.join(', ')})`,
      );
    }
    if (r.error) lines.push(`${r.replica}: ${r.error}`);
    else if (r.compare?.status === 'skipped')
      lines.push(`${r.replica}: live compare skipped: ${r.compare.reason}`);
  }
  return lines.join('\n');
}
