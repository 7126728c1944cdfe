/** Just enough Markdown for the checks: headings, links and code spans outside code blocks. */

export interface Heading {
  depth: number;
  text: string;
}

/** The lines of a document that are prose, with fenced code blocks blanked out. */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

export function headings(markdown: string): Heading[] {
  return proseLines(markdown).flatMap((line) => {
    const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    return match?.[1] && match[2] ? [{ depth: match[1].length, text: match[2] }] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a document offers, numbered as GitHub numbers repeated headings. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text } of headings(markdown)) {
    const base = slug(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

const withoutCodeSpans = (line: string) => line.replace(/`[^`]*`/g, '');

/** Targets of inline links and images, `[text](target)` and `![alt](target)`. */
export function linkTargets(markdown: string): string[] {
  return proseLines(markdown).flatMap((line) =>
    [...withoutCodeSpans(line).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? ''),
  );
}

export function codeSpans(markdown: string): string[] {
  return proseLines(markdown).flatMap((line) =>
    [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''),
  );
}

/** The text under a `## title` heading, up to the next heading of that depth or higher. */
export function section(markdown: string, title: string): string | undefined {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${title}`);
  if (start === -1) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^#{1,2}\s/.test(line));
  return (end === -1 ? rest : rest.slice(0, end)).join('\n');
}
