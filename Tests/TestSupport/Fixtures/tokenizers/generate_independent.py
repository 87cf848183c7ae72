"""Token ids from independent reference implementations, for text the llama.cpp fixtures do not cover.

- smollm2-135m: Hugging Face `tokenizers` (the library SmolLM2's own tokenizer.json runs on), built
  from the GGUF's vocabulary and merges with SmolLM2's pre-tokenizer: Digits(individual) then ByteLevel.
- gemma3-270m: Google's `sentencepiece` (BPE, byte fallback, whitespace-only pieces, no dummy prefix),
  built from the GGUF's pieces, scores and types; user-defined tokens (newline, tab and space runs,
  "[multimodal]", ...) are cut out of the raw text first, longest first, as llama.cpp and HF do.
Both agree with llama.cpp on every row of ../*/tokenize.jsonl. Texts: the GPL-3 licence and random
mixed-script strings. Special-token text is not parsed and no BOS is added.
Needs: pip install gguf tokenizers sentencepiece protobuf
Run from this folder:
  python3 generate_independent.py /tmp/models > independent.jsonl
"""
import json
import random
import sys

import sentencepiece as spm
from gguf import GGUFReader
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

MODELS = sys.argv[1]


def read(path):
    r = GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode() for i in f.data]

    def numbers(key):
        f = r.fields[key]
        return [f.parts[i][0].item() for i in f.data]
    return strings, numbers


def smollm():
    strings, _ = read(f"{MODELS}/SmolLM2-135M-Instruct.Q4_1.gguf")
    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    t = Tokenizer(models.BPE(vocab={tok: i for i, tok in enumerate(tokens)}, merges=merges))
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                               pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    t.decoder = decoders.ByteLevel()
    return lambda text: t.encode(text, add_special_tokens=False).ids


def gemma():
    strings, numbers = read(f"{MODELS}/gemma-3-270m-q4_k_m.gguf")
    tokens, scores, types = strings("tokenizer.ggml.tokens"), numbers("tokenizer.ggml.scores"), numbers("tokenizer.ggml.token_type")
    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.allow_whitespace_only_pieces = True
    m.trainer_spec.split_by_whitespace = False
    m.trainer_spec.vocab_size = len(tokens)
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 3, 2, 1, 0
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = False
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    for tok, score, kind in zip(tokens, scores, types):
        p = m.pieces.add()
        p.piece, p.score, p.type = tok, score, kind
    sp = spm.SentencePieceProcessor(model_proto=m.SerializeToString())
    user_defined = sorted([(tok, i) for i, (tok, kind) in enumerate(zip(tokens, types)) if kind == 4],
                          key=lambda x: -len(x[0].encode()))

    def encode(text):
        fragments = [text]
        for tok, i in user_defined:
            out = []
            for f in fragments:
                if isinstance(f, int) or tok not in f:
                    out.append(f)
                    continue
                for k, part in enumerate(f.split(tok)):
                    if k:
                        out.append(i)
                    if part:
                        out.append(part)
            fragments = out
        return [x for f in fragments for x in ([f] if isinstance(f, int) else sp.encode(f))]
    return encode


texts = [open("../texts/GPL-3.txt").read()]
random.seed(1)
alphabet = ("abcXYZ  \n\t0123456789.,!?'\"-_/()[]{}<>éüñßøæ日本語中文한국어Ελληνικάрусский🍕🚀👍🏽"
            "\u200d\u00a0\u3000ـعربيהעבריתहिन्दीไทย")
texts += ["".join(random.choice(alphabet) for _ in range(random.randint(1, 60))) for _ in range(120)]
for name, encode in [("gemma3-270m", gemma()), ("smollm2-135m", smollm())]:
    for text in texts:
        print(json.dumps({"model": name, "text": text, "ids": encode(text)}, ensure_ascii=False))
