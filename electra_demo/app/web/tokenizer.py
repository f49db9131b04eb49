"""The checkpoint's tokenizer, for tokenizer.js: its tokenizer.json and character tables read off the Rust tokenizer.

tokenizer.js is a small BERT WordPiece tokenizer of our own (BertNormalizer, BertPreTokenizer, WordPiece, a
[CLS] $A [SEP] template, truncation as lab.explain.token_ids does it). Where the pipeline asks "is this character a
control character, whitespace, punctuation, a non-spacing mark, a CJK ideograph, what is its lowercase", the answer
is not the browser's Unicode tables but the Rust tokenizer's own, measured here by running each of its components
over every code point: the `tokenizers` crates carry Unicode tables of their own version (an emoji newer than them is
an unassigned character, removed as a control character), and a browser's tables would differ exactly there.

Only what tokenizer.js implements is accepted; anything else is refused with its name (no silent approximation).
"""
import json

from tokenizers import normalizers, pre_tokenizers

from ...errors import CheckpointError

# Between the probed characters: "a" for clean_text and the pre-tokenizer (kept, not whitespace, not punctuation);
# "\x01" for the steps that map characters to others (no decomposition or lowercase gives it; clean_text would drop
# it). Each step leaves its own separator unchanged, so that character needs no probe in that step.
SEPARATOR, CONTROL = "a", "\x01"
CHUNK = 1 << 16
# every code point but the surrogates: Python cannot hand a lone one to the Rust side (tokenizer.js drops them)
CODEPOINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def _refuse(what: str) -> CheckpointError:
    return CheckpointError(f"the static page's tokenizer (tokenizer.js) implements BERT WordPiece only; this tokenizer "
                           f"has {what}")


def tokenizer_json(tokenizer) -> dict:
    """The backend tokenizer's JSON (what `explain` runs), checked to be a pipeline tokenizer.js implements."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise _refuse(f"no Rust backend ({type(tokenizer).__name__})")
    data = json.loads(backend.to_str())
    norm, pre, model, post = (data.get(k) or {} for k in ("normalizer", "pre_tokenizer", "model", "post_processor"))
    if norm.get("type") != "BertNormalizer":
        raise _refuse(f"normalizer {norm.get('type')!r} (BertNormalizer expected)")
    if pre.get("type") != "BertPreTokenizer":
        raise _refuse(f"pre-tokenizer {pre.get('type')!r} (BertPreTokenizer expected)")
    if model.get("type") != "WordPiece":
        raise _refuse(f"model {model.get('type')!r} (WordPiece expected)")
    if post.get("type") not in ("TemplateProcessing", "BertProcessing"):
        raise _refuse(f"post-processor {post.get('type')!r} (TemplateProcessing or BertProcessing expected)")
    if post.get("type") == "TemplateProcessing":
        seqs = [item for item in post["single"] if "Sequence" in item]
        if len(seqs) != 1 or seqs[0]["Sequence"]["id"] != "A":
            raise _refuse(f"a single-sentence template without exactly one $A: {post['single']}")
    plain = [t["content"] for t in data.get("added_tokens", []) if not t.get("special")]
    if plain:
        raise _refuse(f"added tokens that are not special tokens: {plain[:5]}")
    if tokenizer.truncation_side not in ("right", "left"):
        raise _refuse(f"truncation side {tokenizer.truncation_side!r}")
    return data


def _ranges(codepoints) -> list[int]:
    """Sorted code points as flat inclusive ranges [start0, end0, start1, end1, ...]."""
    out = []
    for c in sorted(codepoints):
        if out and out[-1] == c - 1:
            out[-1] = c
        else:
            out += [c, c]
    return out


def _per_char(fn, sep: str) -> dict[int, str]:
    """{code point: what fn (str -> str, a Rust component) makes of it} for every code point but `sep`: one call per
    chunk, the characters joined by `sep`, which the component neither makes, changes nor removes."""
    cps = [c for c in CODEPOINTS if chr(c) != sep]
    out = {}
    for i in range(0, len(cps), CHUNK):
        chunk = cps[i:i + CHUNK]
        pieces = fn(sep.join(map(chr, chunk)) + sep).split(sep)[:-1]
        if len(pieces) != len(chunk):
            raise RuntimeError("a tokenizer component changed the separator character: the tables cannot be read")
        out.update(zip(chunk, pieces))
    return out


def unicode_tables() -> dict:
    """What each BertNormalizer step and BertPreTokenizer do to each character, from the Rust components themselves.

    removed / whitespace: clean_text drops the character, or makes it a space; chinese: handle_chinese_chars puts spaces
    around it; mark: strip_accents drops it after NFD (a non-spacing mark); lower: {code point: lowercase} where it
    differs; split / punctuation: BertPreTokenizer splits on it and drops it, or keeps it as a token of its own."""
    def bert(**kw):
        return normalizers.BertNormalizer(**{"clean_text": False, "handle_chinese_chars": False, "strip_accents": False,
                                             "lowercase": False, **kw}).normalize_str

    clean, chinese = _per_char(bert(clean_text=True), SEPARATOR), _per_char(bert(handle_chinese_chars=True), CONTROL)
    strip, lower = _per_char(bert(strip_accents=True), CONTROL), _per_char(bert(lowercase=True), CONTROL)
    pre = pre_tokenizers.BertPreTokenizer()
    probed = [c for c in CODEPOINTS if chr(c) != SEPARATOR]
    punctuation, kept = set(), set()
    for i in range(0, len(probed), CHUNK):
        for piece, _ in pre.pre_tokenize_str(SEPARATOR.join(map(chr, probed[i:i + CHUNK]))):
            kept.update(map(ord, piece))
            if len(piece) == 1 and piece != SEPARATOR:  # a character between two separators stands alone: punctuation
                punctuation.add(ord(piece))
    return {
        "removed": _ranges(c for c, s in clean.items() if s == ""),
        "whitespace": _ranges(c for c, s in clean.items() if s == " "),
        "chinese": _ranges(c for c, s in chinese.items() if s == f" {chr(c)} "),
        "mark": _ranges(c for c, s in strip.items() if s == ""),
        "lower": {str(c): s for c, s in lower.items() if s != chr(c)},
        "split": _ranges(c for c in probed if c not in kept),
        "punctuation": _ranges(punctuation),
    }
