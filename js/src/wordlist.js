// The EFF large word list (FORMAT.md §4), taken at build time from the same
// file the Python core reads (keys/data/eff_large_wordlist.txt, one word a
// line), so the two sides cannot drift apart. esbuild inlines it with its
// text loader; under node the tests register an equivalent loader hook.
import text from '../../keys/data/eff_large_wordlist.txt';

export const WORDS = Object.freeze(text.split('\n').map((line) => line.trim()).filter((line) => line !== ''));

if (WORDS.length !== 7776) {
  throw new Error(`the codename word list must hold 7776 words, it holds ${WORDS.length}`);
}

export const WORD_SET = new Set(WORDS);
