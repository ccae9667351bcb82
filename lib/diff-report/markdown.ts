/**
 * Safe Markdown for strings that come from a template or a manifest.
 *
 * Every such string (stack names, logical IDs, resource types, property
 * names, construct paths, policy values) is written by the pull request under
 * review, and GitHub renders the report as Markdown with inline HTML: an
 * `<!--` would hide the rest of the comment, a `|` would shift a table's
 * columns, `[text](url)` would become a link. So each one is put in a code
 * span, which GitHub renders literally (no HTML, no Markdown inside), after
 * removing what could end the span or the table row.
 */

/** A template-derived string as one inline code span. */
export function code(text: string): string {
  const flat = text
    .replace(/`/g, "'") // a backtick would close the span
    .replace(/\r?\n|\r/g, ' ⏎ ') // a newline would end the table row
    .replace(/\|/g, '\\|'); // GitHub splits table cells on `|` even inside code spans, unless escaped
  // A span that starts or ends with a space loses one; a span of spaces only is not a span.
  return flat.trim() === '' ? '` `' : `\`${flat}\``;
}

/** Multi-line values (several actions or resources) as one code span per line. */
export function codeLines(text: string): string {
  if (text === '') return '';
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map(code)
    .join('<br>');
}

/**
 * Free text that is not in a code span (never at the start of a line, where
 * `#`, `-` or `1.` would matter): HTML special characters become entities and
 * the Markdown punctuation that works inside a line is backslash-escaped, so
 * nothing in it renders as a tag, a comment, a link, emphasis, code or a
 * table border.
 */
export function text(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/\r?\n|\r/g, ' ');
}

/** Content of one table cell: our own Markdown (already escaped pieces) with no raw newline or pipe. */
export function cell(markdown: string): string {
  return markdown.replace(/(?<!\\)\|/g, '\\|').replace(/\r?\n/g, '<br>');
}
