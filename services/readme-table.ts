// The README's generated tables (settings, error codes): each is printed from the registry it lists, and a
// test checks that the README holds it as printed, so the README cannot drift from the code.

/** A pipe inside a cell, even in code, ends the cell unless escaped. */
export function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** `text` as code in a cell; an empty cell for nothing. */
export function codeCell(text: string | undefined): string {
  return text === undefined ? '' : `\`${cell(text)}\``;
}

/** A Markdown table of cells already escaped (cell(), codeCell()). */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
