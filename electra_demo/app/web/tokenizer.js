// BERT WordPiece in the browser: the same ids as the checkpoint's Rust tokenizer, as lab/explain.py's token_ids gives
// them (special tokens the user types, "[SEP]", stay text; the [CLS] ... [SEP] template; content cut to max_length).
// The steps follow the tokenizer.json it is given (BertNormalizer, BertPreTokenizer, WordPiece, the template); the
// character classes come from unicode.json, read off the Rust tokenizer by electra_demo/app/web/tokenizer.py, so no
// answer depends on the browser's own Unicode tables (except NFD, which is stable for every character that survives
// the clean-up step). Also runs under Node (module.exports) for the tests.
"use strict";

class CharSet {
  // flat inclusive ranges [s0, e0, s1, e1, ...], sorted
  constructor(ranges) { this.r = ranges || []; }
  has(c) {
    let lo = 0, hi = this.r.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (c < this.r[2 * mid]) hi = mid - 1;
      else if (c > this.r[2 * mid + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

class WordPieceTokenizer {
  constructor(config, tables, options) {
    const norm = config.normalizer, model = config.model, post = config.post_processor;
    this.clean = norm.clean_text;
    this.chinese = norm.handle_chinese_chars;
    this.lowercase = norm.lowercase;
    this.stripAccents = norm.strip_accents === null || norm.strip_accents === undefined ? norm.lowercase : norm.strip_accents;
    this.vocab = new Map(Object.entries(model.vocab));
    this.idToToken = [];
    for (const [token, id] of this.vocab) this.idToToken[id] = token;
    for (const t of config.added_tokens || []) { this.vocab.set(t.content, t.id); this.idToToken[t.id] = t.content; }
    this.unk = model.unk_token;
    this.prefix = model.continuing_subword_prefix;
    this.maxChars = model.max_input_chars_per_word;
    this.template = templateOf(post);  // [{special: [ids]} | {sequence: true}]
    this.truncationSide = options.truncation_side || "right";
    this.sets = {};
    for (const k of ["removed", "whitespace", "chinese", "mark", "split", "punctuation"]) this.sets[k] = new CharSet(tables[k]);
    this.lower = new Map(Object.entries(tables.lower).map(([c, s]) => [Number(c), s]));
  }

  normalize(text) {
    const s = this.sets;
    let out = "";
    for (const ch of text) {
      const c = ch.codePointAt(0);
      if (c >= 0xd800 && c <= 0xdfff) continue;  // a lone surrogate: a control character the Rust side never sees
      if (this.clean && s.removed.has(c)) continue;
      if (this.clean && s.whitespace.has(c)) { out += " "; continue; }
      out += this.chinese && s.chinese.has(c) ? ` ${ch} ` : ch;
    }
    if (this.stripAccents) {
      let kept = "";
      for (const ch of out.normalize("NFD")) if (!s.mark.has(ch.codePointAt(0))) kept += ch;
      out = kept;
    }
    if (this.lowercase) {
      let low = "";
      for (const ch of out) low += this.lower.get(ch.codePointAt(0)) ?? ch;
      out = low;
    }
    return out;
  }

  preTokenize(text) {
    const words = [];
    let word = "";
    for (const ch of text) {
      const c = ch.codePointAt(0);
      if (this.sets.split.has(c)) { if (word) words.push(word); word = ""; }
      else if (this.sets.punctuation.has(c)) { if (word) words.push(word); words.push(ch); word = ""; }
      else word += ch;
    }
    if (word) words.push(word);
    return words;
  }

  wordPiece(word) {
    const chars = Array.from(word);
    if (chars.length > this.maxChars) return [this.unk];
    const pieces = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length, found = null;
      while (start < end) {
        let sub = chars.slice(start, end).join("");
        if (start > 0) sub = this.prefix + sub;
        if (this.vocab.has(sub)) { found = sub; break; }
        end -= 1;
      }
      if (found === null) return [this.unk];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  // {ids, tokens, n_tokens}: ids truncated to maxLength the way token_ids does it, n_tokens the untruncated count
  encode(text, maxLength) {
    const content = [];
    for (const word of this.preTokenize(this.normalize(text))) for (const piece of this.wordPiece(word)) content.push(this.vocab.get(piece));
    const nSpecial = this.template.reduce((n, t) => n + (t.special ? t.special.length : 0), 0);
    const n = content.length + nSpecial;
    let kept = content;
    if (n > maxLength) {
      const room = Math.max(0, maxLength - nSpecial);
      kept = this.truncationSide === "right" ? content.slice(0, room) : content.slice(content.length - room);
    }
    const ids = [];
    for (const t of this.template) ids.push(...(t.special || kept));
    return { ids, tokens: ids.map((i) => this.idToToken[i]), n_tokens: n };
  }
}

function templateOf(post) {
  if (post.type === "BertProcessing") return [{ special: [post.cls[1]] }, { sequence: true }, { special: [post.sep[1]] }];
  return post.single.map((item) => item.SpecialToken
    ? { special: post.special_tokens[item.SpecialToken.id].ids }
    : { sequence: true });
}

if (typeof module !== "undefined") module.exports = { WordPieceTokenizer, CharSet };
else globalThis.WordPieceTokenizer = WordPieceTokenizer;
