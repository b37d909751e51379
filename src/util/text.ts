// Small text helpers that avoid ICU: toLocaleString and localeCompare load its number
// formatting or collation on first use (10-30 ms), more than a whole command's work.

/** 12,345, as en-US groups it. */
export const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** "1 file", "12,345 files". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${grouped(n)} ${n === 1 ? one : many}`;

/** Code-unit order: stable and the same on every host (names here are ASCII in practice). */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
