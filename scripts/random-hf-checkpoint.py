#!/usr/bin/python3
"""Writes a random Hugging Face checkpoint of a real model's shape, for timing.

No model hub is reachable here, so the speed of lmc on a GPT-2- or
SmolLM2-sized model is measured on random weights of that exact shape (speed
does not depend on the values; the compression ratio does, and is meaningless
for such a model). Writes DIR/config.json and DIR/model.safetensors (F32),
and copies a tokenizer.json when one is given.

  scripts/random-hf-checkpoint.py DIR [--shape gpt2|gpt2-tiny|smollm2-135m] [--tokenizer FILE]

Needs Debian's python3-torch (scripts/install-deps.sh installs it).
"""
import argparse
import json
import os
import shutil
import struct

import torch

SHAPES = {
    # GPT-2 small: 124M parameters, tied head.
    "gpt2": {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
             "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024,
             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
             "bos_token_id": 50256},
    # GPT-2's vocabulary and layout at a toy size: dry runs of the GPU scripts.
    "gpt2-tiny": {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
                  "n_embd": 64, "n_layer": 2, "n_head": 2, "n_positions": 1024,
                  "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
                  "bos_token_id": 50256},
    # SmolLM2-135M: 30 layers, grouped-query attention (9 heads over 3), tied.
    "smollm2-135m": {"architectures": ["LlamaForCausalLM"], "vocab_size": 49152,
                     "hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9,
                     "num_key_value_heads": 3, "intermediate_size": 1536,
                     "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
                     "rope_theta": 100000.0, "tie_word_embeddings": True, "hidden_act": "silu",
                     "bos_token_id": 0},
}


def tensors(cfg):
    r = lambda *s, sc=0.02: torch.randn(*s) * sc
    t = {}
    if cfg.get("model_type") == "gpt2":
        d, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
        t.update({"wte.weight": r(V, d), "wpe.weight": r(P, d, sc=0.01),
                  "ln_f.weight": 1 + r(d), "ln_f.bias": r(d)})
        for i in range(L):
            h = "h.%d." % i
            t.update({h + "ln_1.weight": 1 + r(d), h + "ln_1.bias": r(d),
                      h + "attn.c_attn.weight": r(d, 3 * d), h + "attn.c_attn.bias": r(3 * d),
                      h + "attn.c_proj.weight": r(d, d), h + "attn.c_proj.bias": r(d),
                      h + "ln_2.weight": 1 + r(d), h + "ln_2.bias": r(d),
                      h + "mlp.c_fc.weight": r(d, 4 * d), h + "mlp.c_fc.bias": r(4 * d),
                      h + "mlp.c_proj.weight": r(4 * d, d), h + "mlp.c_proj.bias": r(d)})
    else:
        d, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
        H, K, F = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
        hd = d // H
        t.update({"model.embed_tokens.weight": r(V, d), "model.norm.weight": 1 + r(d)})
        for i in range(L):
            m = "model.layers.%d." % i
            t.update({m + "input_layernorm.weight": 1 + r(d),
                      m + "post_attention_layernorm.weight": 1 + r(d),
                      m + "self_attn.q_proj.weight": r(H * hd, d),
                      m + "self_attn.k_proj.weight": r(K * hd, d),
                      m + "self_attn.v_proj.weight": r(K * hd, d),
                      m + "self_attn.o_proj.weight": r(d, H * hd),
                      m + "mlp.gate_proj.weight": r(F, d), m + "mlp.up_proj.weight": r(F, d),
                      m + "mlp.down_proj.weight": r(d, F)})
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--shape", default="gpt2", choices=sorted(SHAPES))
    ap.add_argument("--tokenizer")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    cfg = SHAPES[a.shape]
    t = tensors(cfg)
    header, offset = {}, 0
    for name in sorted(t):
        n = t[name].numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t[name].shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header).encode()
    with open(os.path.join(a.dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name in sorted(t):
            f.write(t[name].float().contiguous().numpy().tobytes())
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if a.tokenizer:
        shutil.copy(a.tokenizer, os.path.join(a.dir, "tokenizer.json"))


if __name__ == "__main__":
    main()
