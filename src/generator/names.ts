/**
 * Project-name spellings and the mix placeholder convention: template text may say
 * `MyApp`, `my-app`, `myapp`, `my_app` or `My App`; each is replaced from the project name.
 */
export interface NameForms {
  /** MyApp */
  pascal: string;
  /** my-app */
  kebab: string;
  /** myapp */
  lower: string;
  /** my_app */
  snake: string;
  /** My App */
  title: string;
}

export function splitWords(name: string): string[] {
  return name
    .replace(/^@[^/]+\//, '') // npm scope
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

export function nameForms(name: string): NameForms {
  const words = splitWords(name).map((w) => w.toLowerCase());
  if (words.length === 0) words.push('app');
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
  return {
    pascal: words.map(cap).join(''),
    kebab: words.join('-'),
    lower: words.join(''),
    snake: words.join('_'),
    title: words.map(cap).join(' '),
  };
}

// Longest/most specific first, whole words only, so `my-apple` or `myapps` stay untouched (`my-app-data` -> `acme-data` and `MyApp.Tests` -> `Acme.Tests`, as the mix convention does).
const PLACEHOLDERS: [RegExp, keyof NameForms][] = [
  [/(?<![A-Za-z0-9])My App(?![A-Za-z0-9])/g, 'title'],
  [/(?<![A-Za-z0-9])MyApp(?![a-z0-9])/g, 'pascal'],
  [/(?<![A-Za-z0-9])my-app(?![A-Za-z0-9])/g, 'kebab'],
  [/(?<![A-Za-z0-9])my_app(?![A-Za-z0-9])/g, 'snake'],
  [/(?<![A-Za-z0-9])myapp(?![A-Za-z0-9])/g, 'lower'],
];

export function replacePlaceholders(text: string, forms: NameForms): string {
  let out = text;
  for (const [re, key] of PLACEHOLDERS) out = out.replace(re, forms[key]);
  return out;
}
