// Keeps every fragment of secret data out of error messages. Redacting whole
// values is not enough: a template function that fails part-way through a
// value (mustToDate: `extra text: "…SUFFIX"`) quotes a piece of it. Here every
// run of at least MIN_RUN characters that also occurs in a secret value, as
// is or in its quoted (escaped) form, is replaced, so no fragment that long
// survives, whatever the function and however it quotes.

/** Shorter runs are too common to tell apart from the message's own words. */
export const MIN_RUN = 4;
/** Above this much secret text the index is not built and the detail is dropped instead. */
const MAX_INDEXED_CHARS = 512 * 1024;
const MARK = "<redacted>";

/** The forms in which a value can appear in an error: raw, and escaped as Go's %q or JSON print it. */
function formsOf(value: string): string[] {
  const quoted = JSON.stringify(value).slice(1, -1);
  return quoted === value ? [value] : [value, quoted];
}

/** The template position ("template: name:1:5: executing ..."), without anything that may quote data. */
function positionOnly(message: string): string {
  const m = /^template: [^\s]+?:\d+(:\d+)?/.exec(message);
  return `${m ? `${m[0]}: ` : ""}${MARK} (detail withheld: it may quote secret data)`;
}

export function redactFragments(message: string, secrets: Iterable<string>): string {
  const forms = [...secrets].filter((s) => s.length >= MIN_RUN).flatMap(formsOf);
  if (forms.length === 0) return message;
  const total = forms.reduce((n, s) => n + s.length, 0);
  if (total > MAX_INDEXED_CHARS) return positionOnly(message);
  const grams = new Set<string>();
  for (const s of forms) for (let i = 0; i + MIN_RUN <= s.length; i++) grams.add(s.slice(i, i + MIN_RUN));
  const covered = new Uint8Array(message.length);
  for (let i = 0; i + MIN_RUN <= message.length; i++) {
    if (grams.has(message.slice(i, i + MIN_RUN))) covered.fill(1, i, i + MIN_RUN);
  }
  let out = "";
  for (let i = 0; i < message.length; ) {
    if (!covered[i]) {
      out += message[i++];
      continue;
    }
    while (i < message.length && covered[i]) i++;
    out += MARK;
  }
  return out;
}
