// The ward picker's order and search. Wards are listed in Vietnamese alphabetical order (Intl.Collator 'vi':
// a < ă < â, d < đ, e < ê, o < ô < ơ, u < ư, tones after the letter; "Phường 2" before "Phường 10"), whatever the
// page's language, and found by typing without accents: "duc trong" finds "Xã Đức Trọng".
import type { Place } from './config.ts';

const collator = new Intl.Collator('vi', { numeric: true });

/** The wards in Vietnamese collation order (a new list; the served one is in code order). */
export function sortWards(wards: Place[]): Place[] {
  return [...wards].sort((a, b) => collator.compare(a.name, b.name) || (a.code < b.code ? -1 : 1));
}

/** Lower case, no diacritics, đ as d, punctuation as spaces: what a search compares (as the server's `fold`). */
export function fold(text: string): string {
  return text
    .replace(/[đĐ]/g, 'd')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Does `name` match what was typed? Every word typed begins a word of the name, accents ignored ("cam ly da
 * lat", "xuan truong", "bao loc 2"). */
export function matches(name: string, query: string): boolean {
  const words = fold(name).split(' ');
  return fold(query)
    .split(' ')
    .filter(Boolean)
    .every((q) => words.some((w) => w.startsWith(q)));
}
