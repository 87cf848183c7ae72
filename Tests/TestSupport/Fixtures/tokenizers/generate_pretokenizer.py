"""Expected pre-tokenizer word splits, from the upstream regular expressions run by Python's `regex`.

An independent check of the hand-written scanners in Sources/Tokenizers: each rule is the chain of
patterns llama.cpp applies for that `tokenizer.ggml.pre`, and each pattern splits every segment left
by the previous one into its matches and the gaps between them (llama.cpp's unicode_regex_split).
Run from this folder: python3 generate_pretokenizer.py > pretokenizer.jsonl
"""
import json
import regex

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
RULES = {
    "gpt-2": [GPT2],
    "llama-bpe": [LLAMA3],
    "qwen2": [QWEN2],
    "smollm": [r"\p{N}", GPT2],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
}


def split(segments, pattern):
    out = []
    for s in segments:
        pos = 0
        for m in regex.finditer(pattern, s):
            if m.start() > pos:
                out.append(s[pos:m.start()])
            out.append(m.group())
            pos = m.end()
        if pos < len(s):
            out.append(s[pos:])
    return out


texts = []
for model in ["gemma3-270m", "smollm2-135m"]:
    for line in open(f"../{model}/tokenize.jsonl"):
        t = json.loads(line)["text"]
        if t not in texts:
            texts.append(t)
texts += [
    "I'M sure YOU'LL see THEY'VE done it, 'tis 'Twas ' s 'x '' it's",
    "tabs\tand\u00a0no-break\u2003em space\u3000ideographic  \n \r\n\n  x  ",
    "numbers ١٢٣ ½ ⅔ 12345678 3.14159 1,000 ٣٤٥٦ and ①②③ and x²",
    "symbols $100 + <tag> = ^caret ~tilde |pipe| `tick` «quotes» — – … ¿¡ 【】",
    "combining e\u0301 a\u0308 n\u0303 and Hangul 한국어 and Thai ภาษาไทย and Hindi हिन्दी",
    "emoji 🍕🚀 👨‍👩‍👧‍👦 🇫🇷 ✔️ ❤️‍🔥 and math 𝔘𝔫𝔦 ∑∫√∞",
    "   leading\n\n\ttrailing\t \t",
    "a!b?c.d,e;f:g'h\"i(j)k[l]m{n}o/p\\q@r#s%t&u*v_w-x=y+z",
]
texts.append(open("../texts/GPL-3.txt").read()[:6000])

for text in texts:
    for rule, patterns in RULES.items():
        words = [text]
        for p in patterns:
            words = split(words, p)
        assert "".join(words) == text
        print(json.dumps({"rule": rule, "text": text, "words": words}, ensure_ascii=False))
