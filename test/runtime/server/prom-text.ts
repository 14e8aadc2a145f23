/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): every line must be a HELP, a
 * TYPE, a sample of a family whose TYPE came first, or empty. Throws on anything else.
 */
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:NaN|[+-]Inf|[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (${VALUE})(?: -?[0-9]+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

export interface Family {
  type: string;
  help?: string;
  samples: { labels: Record<string, string>; value: number }[];
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') return;
    let m = TYPE.exec(line);
    if (m) {
      const f = families.get(m[1]);
      if (f?.type) throw new Error(`${where}: second TYPE for ${m[1]}`);
      families.set(m[1], { help: f?.help, type: m[2], samples: [] });
      return;
    }
    m = HELP.exec(line);
    if (m) {
      const f = families.get(m[1]);
      if (f?.samples.length) throw new Error(`${where}: HELP after samples`);
      families.set(m[1], { type: f?.type ?? '', help: m[2], samples: f?.samples ?? [] });
      return;
    }
    if (line.startsWith('#')) return; // a comment
    m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a valid sample line`);
    const family = families.get(m[1]) ?? families.get(m[1].replace(/_(total|sum|count|bucket)$/, ''));
    if (!family?.type) throw new Error(`${where}: sample of ${m[1]} before its TYPE`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[lm[1]] = lm[2];
    const value =
      m[3] === 'NaN' ? Number.NaN : m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    family.samples.push({ labels, value });
  });
  return families;
}

/** The value of one sample (labels must match exactly the given subset); undefined if absent. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}
