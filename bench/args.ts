/** Command-line options of the benchmark scripts: `--name value`. */

/** The word after `name`, or undefined when `name` is not given. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A positive integer option; `fallback` when absent; a clear error for anything else. */
export function positiveIntArg(name: string, fallback: number): number {
  const text = argValue(name);
  if (text === undefined && !process.argv.includes(name)) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} takes a positive integer (got ${text})`);
  }
  return value;
}
