/**
 * `text` in double quotes for an error message, cut after `max` characters: a 100 KB
 * argument still makes one short line.
 *
 * @example quote('abcdef', 3) // '"abc"… (6 characters)'
 */
export function quote(text: string, max = 60): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}… (${text.length} characters)`;
}
