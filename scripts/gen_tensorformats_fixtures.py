#!/usr/bin/env python3
"""Generates the TensorFormats test fixtures with the `gguf` Python package (independent of rdic).

Writes into Tests/TensorFormatsTests/Fixtures:
  dequant/<TYPE>.blocks  random blocks of TYPE (raw bytes, scale fields set to sane halves)
  dequant/<TYPE>.f32     gguf.quants.dequantize of those blocks (little-endian float32)
  quant/input.f32        float inputs (several 256-element blocks, incl. zeros and rounding ties)
  quant/<TYPE>.blocks    gguf.quants.quantize of input.f32 (Q8_0, Q4_0); Q8_K from quantize_q8_k below
  real/rows.json         rows of real model tensors: model (TestModels name), file, tensor, type,
                         absolute offset, count
  real/<n>.f32           their dequantized values from gguf

Run from the repository root: python3 scripts/gen_tensorformats_fixtures.py [models_dir]
"""
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader
from gguf import quants

OUT = os.path.join("Tests", "TensorFormatsTests", "Fixtures")
rng = np.random.default_rng(20261126)

# (type, number of blocks, byte offsets of f16 scale fields inside a block)
DEQUANT = [
    (T.F16, 512, []), (T.BF16, 512, []),
    (T.Q4_0, 24, [0]), (T.Q4_1, 24, [0, 2]), (T.Q5_0, 24, [0]), (T.Q5_1, 24, [0, 2]), (T.Q8_0, 24, [0]),
    (T.Q2_K, 4, [80, 82]), (T.Q3_K, 4, [108]), (T.Q4_K, 4, [0, 2]), (T.Q5_K, 4, [0, 2]), (T.Q6_K, 4, [208]),
]


def sane_halves(n):
    """Scale-like halves: mostly small normals of both signs, some subnormals and zeros."""
    v = (rng.standard_normal(n) * 0.02).astype(np.float16)
    v[rng.integers(0, n, max(1, n // 8))] = np.float16(3e-7)  # subnormal
    v[rng.integers(0, n, max(1, n // 16))] = np.float16(0)
    return v


def write(path, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gen_dequant():
    for qtype, nblocks, half_fields in DEQUANT:
        block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(nblocks, type_size), dtype=np.uint8)
        if qtype == T.F16:
            vals = (rng.standard_normal(nblocks) * 4).astype(np.float16)
            vals[:8] = np.array([0, -0.0, 6e-8, -3e-6, 65504, np.inf, -np.inf, 1], dtype=np.float16)
            raw = vals.view(np.uint8).reshape(nblocks, 2)
        for off in half_fields:
            raw[:, off:off + 2] = sane_halves(nblocks).view(np.uint8).reshape(nblocks, 2)
        deq = quants.dequantize(raw.reshape(-1), qtype).astype(np.float32)
        assert deq.size == nblocks * block_size and np.all(np.isfinite(deq) | (qtype in (T.F16, T.BF16)))
        write(f"{OUT}/dequant/{qtype.name}.blocks", raw.tobytes())
        write(f"{OUT}/dequant/{qtype.name}.f32", deq.astype("<f4").tobytes())


def quantize_q8_k(x):
    """ggml's quantize_row_q8_K_ref in numpy: per 256 the value of largest magnitude maps to -127,
    round half to even, bsums per 16. Block layout: d:f32, qs[256] int8, bsums[16] int16."""
    out = bytearray()
    for blk in x.reshape(-1, 256):
        i = int(np.argmax(np.abs(blk)))  # first index of the largest magnitude, like the C loop
        mx = blk[i]
        if mx == 0:
            out += np.float32(0).tobytes() + bytes(256) + bytes(32)
            continue
        iscale = np.float32(-127.0) / mx
        q = np.minimum(np.rint((iscale * blk).astype(np.float32)), 127).astype(np.int8)
        bsums = q.astype(np.int16).reshape(16, 16).sum(axis=1).astype("<i2")
        out += (np.float32(1.0) / iscale).astype("<f4").tobytes() + q.tobytes() + bsums.tobytes()
    return bytes(out)


def gen_quant():
    blocks = [rng.standard_normal(256) * s for s in (1.0, 0.01, 30.0)]
    blocks.append(np.zeros(256))
    ties = rng.integers(-126, 126, 256) + 0.5  # with 127 as the largest, these land on .5 exactly
    ties[0] = 127
    ties[40] = -127
    blocks.append(ties)
    spiky = rng.standard_normal(256) * 0.1
    spiky[::37] = -5.0  # a negative value of largest magnitude, repeated
    blocks.append(spiky)
    x = np.concatenate(blocks).astype(np.float32)
    write(f"{OUT}/quant/input.f32", x.astype("<f4").tobytes())
    for qtype in (T.Q8_0, T.Q4_0):
        write(f"{OUT}/quant/{qtype.name}.blocks", quants.quantize(x, qtype).tobytes())
    write(f"{OUT}/quant/Q8_K.blocks", quantize_q8_k(x))


def gen_real(models_dir):
    picks = [
        ("gemma-3-270m-q4_k_m.gguf", "token_embd.weight", 2),
        ("gemma-3-270m-q4_k_m.gguf", "blk.0.attn_k.weight", 5),
        ("gemma-3-270m-q4_k_m.gguf", "blk.0.attn_output.weight", 7),
        ("gemma-3-270m-q4_k_m.gguf", "blk.0.ffn_down.weight", 3),
        ("gemma-3-270m-q4_k_m.gguf", "blk.2.ffn_down.weight", 1),
        ("gemma-3-270m-q4_k_m.gguf", "blk.0.attn_v.weight", 9),
        ("gemma-3-270m-q4_k_m.gguf", "blk.0.ffn_norm.weight", 0),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.ffn_up.weight", 11),
    ]
    rows = []
    readers = {}
    for n, (fname, tname, row) in enumerate(picks):
        reader = readers.setdefault(fname, GGUFReader(os.path.join(models_dir, fname)))
        t = next(t for t in reader.tensors if t.name == tname)
        cols = int(t.shape[0])
        block_size, type_size = quants.GGML_QUANT_SIZES[t.tensor_type]
        row_bytes = cols // block_size * type_size
        offset = int(t.data_offset) + row * row_bytes
        with open(os.path.join(models_dir, fname), "rb") as f:
            f.seek(offset)
            raw = np.frombuffer(f.read(row_bytes), dtype=np.uint8)
        deq = quants.dequantize(raw, t.tensor_type).astype("<f4")
        write(f"{OUT}/real/{n}.f32", deq.tobytes())
        model = {"gemma-3-270m-q4_k_m.gguf": "gemma3-270m", "SmolLM2-135M-Instruct.Q4_1.gguf": "smollm2-135m"}[fname]
        rows.append({"model": model, "file": fname, "tensor": tname, "type": t.tensor_type.name, "row": row,
                     "offset": offset, "count": cols, "expected": f"{n}.f32"})
    write(f"{OUT}/real/rows.json", (json.dumps(rows, indent=1) + "\n").encode())


if __name__ == "__main__":
    gen_dequant()
    gen_quant()
    gen_real(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RDIC_TEST_MODELS_DIR", "/tmp/models"))
