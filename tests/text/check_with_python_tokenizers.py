#!/usr/bin/env python3
"""rlmoe's Tokenizer against the Hugging Face tokenizers library. First the Unicode properties of the
split patterns (\p{L}, \p{N}, ..., \s, \d) over every code point, against the Oniguruma inside
tokenizers. Then, on the fixtures of
tests/text/fixtures/ and on variants of them written here (add_prefix_space, ignore_merges, every Split
behavior, an inverted split, a literal split pattern), and on a tokenizer that rlmoe's own BPE trainer
wrote (train_byte_level_bpe), which the library must read: for each, thousands of strings generated from a
fixed seed (ASCII, digits, whitespace runs, contractions, combining marks in and out of canonical order,
Hangul, CJK, emoji, control characters, added tokens with the space around them) are encoded by both,
with and without special tokens, and decoded by both, as are random id sequences (which split UTF-8
characters, so that the replacement of ill-formed bytes is compared too).

    check_with_python_tokenizers.py <tokenizer_requests> <fixtures dir> <scratch dir>    exit 77 without tokenizers
"""
import copy
import json
import os
import random
import subprocess
import sys

try:
    from tokenizers import Regex, Tokenizer, pre_tokenizers
except ImportError:
    print("the tokenizers library is not installed: " + ("failing (CI=true)" if os.environ.get("CI") == "true" else "skipping"))
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

runner, fixtures, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(scratch, exist_ok=True)

WORDS = ["the", "The", "THE", "apples", "cost", "dollars", "answer", "Hello", "world", "x", "A", "z", "_", "foo_bar",
         "it", "don", "we", "they", "héllo", "café", "straße", "ǅemal", "İstanbul", "ſtraße", "Kelvin"]
CONTRACTIONS = ["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'ſ", "'K", "'x", "'"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n ", "\u00a0", "\u3000", "\u2009", "\u200b", "\u2028", "\x0b", "\x0c", "\x85"]
PUNCTUATION = list(".,;:!?\"#$%&()*+-/<=>@[\\]^_`{|}~") + ["...", "--", "->", "==", "!=", "$$", "¿", "¡", "«»", "—", "“", "”", "…", "、", "。", "！"]
UNICODE = ["你好", "世界", "数学题", "答案是", "こんにちは", "カタカナ", "ひらがな", "привет", "Мир", "γειά", "Ωμέγα", "مرحبا", "שלום",
           "नमस्ते", "हिन्दी", "안녕하세요", "한국어", "ไทย", "ქართული", "Ελλάδα", "😀", "👍🏽", "👨‍👩‍👧", "🇩🇪", "🏳️‍🌈", "∑", "≤", "→", "∞",
           "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀋", "½", "²", "Ⅻ", "٣", "߀", "①"]
# Composed and decomposed forms: NFC must compose e + U+0301, reorder marks, and leave blocked or
# excluded ones alone; Hangul jamo compose into syllables.
COMBINING = ["e\u0301", "E\u0300", "a\u0323\u0302", "a\u0302\u0323", "o\u0308\u0304", "\u0301", "q\u0307\u0323", "n\u0303",
             "\u1100\u1161", "\u1100\u1161\u11a8", "\uac00\u11a8", "\u212b", "\u2126", "\u0958", "\u0915\u093c", "A\u030a\u0301",
             "\u1e0b\u0323", "\u00e5\u0316", "s\u0323\u0307", "\u0f73", "\u0344", "\u2adc", "\u1d15e"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\u00ad", "\ufeff", "\ufffd", "\U0010fffd"]


def random_code_point(rng):
    """Any scalar value, weighted towards the planes that hold characters."""
    while True:
        plane = rng.random()
        cp = rng.randint(0, 0xFFFF) if plane < 0.85 else rng.randint(0x10000, 0x3FFFF) if plane < 0.97 else rng.randint(0xE0000, 0x10FFFF)
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def random_text(rng, specials):
    parts = []
    for _ in range(rng.randint(0, 14)):
        r = rng.random()
        if r < 0.30:
            parts.append(rng.choice(WORDS))
        elif r < 0.40:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 12))))
        elif r < 0.52:
            parts.append(rng.choice(SPACES) * rng.randint(1, 3))
        elif r < 0.58:
            parts.append(rng.choice(CONTRACTIONS))
        elif r < 0.68:
            parts.append(rng.choice(PUNCTUATION))
        elif r < 0.78:
            parts.append(rng.choice(UNICODE))
        elif r < 0.85:
            parts.append(rng.choice(COMBINING))
        elif r < 0.89:
            parts.append(rng.choice(CONTROL))
        elif r < 0.94 and specials:
            parts.append(rng.choice(SPACES[:3]) * rng.randint(0, 1) + rng.choice(specials) + rng.choice(SPACES[:3]) * rng.randint(0, 1))
        else:
            parts.append("".join(random_code_point(rng) for _ in range(rng.randint(1, 4))))
    joiner = rng.choice(["", " ", " ", ""])
    return joiner.join(parts)


def variants():
    """(name, tokenizer.json path) for each fixture and each variant written to the scratch dir."""
    out = []
    for name in ("gpt2_style", "qwen_style", "deepseek_style"):
        out.append((name, os.path.join(fixtures, name + ".json"), 2500))
    def write(name, base, change):
        spec = json.load(open(os.path.join(fixtures, base + ".json"), encoding="utf-8"))
        change(spec)
        path = os.path.join(scratch, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(spec, f, ensure_ascii=True)
        out.append((name, path, 600))
    write("gpt2_add_prefix_space", "gpt2_style", lambda s: s["pre_tokenizer"].update(add_prefix_space=True))
    write("qwen_ignore_merges", "qwen_style", lambda s: s["model"].update(ignore_merges=True))
    for behavior in ("Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"):
        write(f"deepseek_split_{behavior}", "deepseek_style",
              lambda s, b=behavior: s["pre_tokenizer"]["pretokenizers"][0].update(behavior=b))
    write("deepseek_split_inverted", "deepseek_style", lambda s: s["pre_tokenizer"]["pretokenizers"][0].update(invert=True))
    def literal_split(s):
        s["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": ", "}, "behavior": "MergedWithPrevious", "invert": False}, s["pre_tokenizer"]]}
    write("gpt2_literal_split", "gpt2_style", literal_split)
    write("qwen_sequence_normalizer", "qwen_style", lambda s: s.update(normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}]}))
    write("gpt2_no_decoder", "gpt2_style", lambda s: s.update(decoder=None))
    # rlmoe's own trainer, on texts like the test strings.
    rng = random.Random(99)
    corpus_path, trained = os.path.join(scratch, "corpus.json"), os.path.join(scratch, "trained_by_rlmoe.json")
    with open(corpus_path, "w", encoding="utf-8") as f:
        json.dump([random_text(rng, ["<|endoftext|>", "<think>"]) for _ in range(3000)], f, ensure_ascii=True)
    subprocess.run([runner, "--train", corpus_path, trained], check=True)
    out.append(("trained_by_rlmoe", trained, 1500))
    return out


problems = []
total_strings = 0


def run(path, requests, name):
    request_path = os.path.join(scratch, name + ".requests.json")
    with open(request_path, "w", encoding="utf-8") as f:
        json.dump(requests, f, ensure_ascii=True)
    result = subprocess.run([runner, path, request_path], capture_output=True, text=True, encoding="utf-8")
    if result.returncode != 0:
        problems.append(f"{name}: tokenizer_requests failed: {result.stderr.strip()}")
        return None
    return json.loads(result.stdout)


# Which code points each property matches: tokenizers' Split with behavior "removed" leaves the
# non-matching runs, so the matches are what lies between them.
PROPERTIES = [r"\p{L}", r"\p{N}", r"\p{P}", r"\p{S}", r"\p{M}", r"\p{Z}", r"\p{C}", r"\p{Lu}", r"\p{Ll}", r"\p{Nd}", r"\p{Pc}",
              r"\p{So}", r"\s", r"\S", r"\d"]
PLANE = 0x10000
chunks = [(first, first + PLANE - 1, "".join(chr(c) for c in range(first, first + PLANE) if not 0xD800 <= c <= 0xDFFF))
          for first in range(0, 0x110000, PLANE)]
requests, expected = [], []
for pattern in PROPERTIES:
    split = pre_tokenizers.Split(Regex(pattern), behavior="removed")
    for first, last, chunk in chunks:
        requests.append({"find_all": pattern, "code_points": [first, last]})
        unmatched = [False] * len(chunk)
        for _, (begin, end) in split.pre_tokenize_str(chunk):
            unmatched[begin:end] = [True] * (end - begin)
        expected.append([i for i, u in enumerate(unmatched) if not u])
answers = run(os.path.join(fixtures, "gpt2_style.json"), requests, "properties")
if answers is not None:
    differing = 0
    for (q, e, a), (_, _, chunk) in zip(zip(requests, expected, answers), chunks * len(PROPERTIES)):
        got = [i for begin, end in a for i in range(begin, end)] if isinstance(a, list) else a
        if got != e:
            differing += 1
            if differing <= 3:
                wrong = [hex(ord(chunk[i])) for i in sorted(set(e) ^ set(got))[:8]] if isinstance(got, list) else got
                problems.append(f"properties: {q['find_all']} differs from tokenizers at code points {wrong}")
    print(f"properties: {len(PROPERTIES)} patterns over all {sum(len(c) for _, _, c in chunks)} code points: "
          f"{differing} of {len(requests)} planes differ")
configurations = variants()
for name, path, count in configurations:
    reference = Tokenizer.from_file(path)
    rng = random.Random(sum(map(ord, name)))
    specials = [t.content for t in reference.get_added_tokens_decoder().values()]
    texts = [random_text(rng, specials) for _ in range(count)]
    texts += ["", " ", "\n", "a", "Hello world", "  leading", "trailing  ", "x" * 3000, " " * 2000 + "y", "\u00e9" * 500,
              "1234567890" * 40, "😀" * 200, "e" + "\u0301" * 50]
    total_strings += len(texts)
    vocab = reference.get_vocab_size(with_added_tokens=True)
    requests, expected = [], []
    for text in texts:
        for add in (True, False):
            requests.append({"encode": text, "add_special_tokens": add})
            expected.append(reference.encode(text, add_special_tokens=add).ids)
        ids = expected[-1]
        for skip in (False, True):
            requests.append({"decode": ids, "skip_special_tokens": skip})
            expected.append(reference.decode(ids, skip_special_tokens=skip))
    for _ in range(count // 4):
        ids = [rng.randrange(vocab) for _ in range(rng.randint(0, 12))]
        skip = rng.random() < 0.5
        requests.append({"decode": ids, "skip_special_tokens": skip})
        expected.append(reference.decode(ids, skip_special_tokens=skip))
    answers = run(path, requests, name)
    if answers is None:
        continue
    wrong = [(q, e, a) for q, e, a in zip(requests, expected, answers) if e != a]
    encodes = sum("encode" in q for q in requests)
    print(f"{name}: {len(texts)} strings, {encodes} encodings and {len(requests) - encodes} decodings: "
          f"{len(wrong)} differ from tokenizers")
    for q, e, a in wrong[:5]:
        problems.append(f"{name}: {json.dumps(q, ensure_ascii=True)[:300]}\n    tokenizers: {json.dumps(e, ensure_ascii=True)[:300]}"
                        f"\n    rlmoe:      {json.dumps(a, ensure_ascii=True)[:300]}")

# SentencePiece: rlmoe's SentencePieceTokenizer (over the library) against the Python package, for
# the ids it hands out (BOS or not) and the text it returns.
try:
    import sentencepiece
except ImportError:
    sentencepiece = None
    problems.append("the sentencepiece Python package is not installed" + (" (CI=true)" if os.environ.get("CI") == "true" else ""))
if sentencepiece is not None:
    path = os.path.join(fixtures, "sentencepiece_unigram.model")
    reference = sentencepiece.SentencePieceProcessor(model_file=path)
    rng = random.Random(5)
    texts = [random_text(rng, []) for _ in range(2500)] + ["", " ", "Hello world", "caf\u00e9 \u4f60\u597d \U0001F600"]
    requests, expected = [], []
    for text in texts:
        for add in (True, False):
            requests.append({"encode": text, "add_special_tokens": add})
            expected.append(([reference.bos_id()] if add and reference.bos_id() >= 0 else []) + reference.encode(text))
        requests.append({"decode": expected[-1], "skip_special_tokens": False})
        expected.append(reference.decode(expected[-2]))
    for _ in range(600):
        ids = [rng.randrange(reference.get_piece_size()) for _ in range(rng.randint(0, 12))]
        requests.append({"decode": ids, "skip_special_tokens": False})
        expected.append(reference.decode(ids))
    answers = run(path, requests, "sentencepiece")
    if answers is not None:
        wrong = [(q, e, a) for q, e, a in zip(requests, expected, answers) if e != a]
        print(f"sentencepiece_unigram: {len(texts)} strings, {len(requests)} encodings and decodings: {len(wrong)} differ from sentencepiece")
        total_strings += len(texts)
        for q, e, a in wrong[:5]:
            problems.append(f"sentencepiece: {json.dumps(q, ensure_ascii=True)[:300]}\n    sentencepiece: {json.dumps(e, ensure_ascii=True)[:300]}"
                            f"\n    rlmoe:         {json.dumps(a, ensure_ascii=True)[:300]}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"ok: rlmoe's tokenizers equal tokenizers and sentencepiece on {total_strings} strings over {len(configurations) + 1} "
      f"tokenizers")
