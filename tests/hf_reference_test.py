#!/usr/bin/python3
"""lmc's float forward pass of Hugging Face checkpoints against PyTorch.

Writes tiny random GPT-2 and Llama-family checkpoints in the layout
transformers saves them in (safetensors written by hand: Debian's PyTorch has
no safetensors module), computes their logits with an independent PyTorch
implementation of the transformers modeling code (float64), and requires
lmc-hf-logits to agree. scripts/device-check.sh does the same against
transformers itself where it is installed.

With the lmc binary as a second argument, each checkpoint also gets a
byte-level BPE tokenizer.json and goes through the user's path: `lmc convert`
(which reports the integer model's bits per token against the float model's),
then `lmc -m converted compress` and `decompress` of text and binary data,
which must give the input back byte for byte.

Usage: hf_reference_test.py LMC_HF_LOGITS [LMC]
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

torch.manual_seed(7)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].to(dtype).contiguous().flatten()
        if dtype == torch.float32:
            raw = struct.pack("<%df" % t.numel(), *t.tolist())
        else:  # F16 / BF16: their bit patterns
            bits = t.view(torch.int16).tolist()
            raw = struct.pack("<%dh" % len(bits), *bits)
        name_dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[dtype]
        header[name] = {"dtype": name_dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def byte_level_alphabet():
    """GPT-2's printable stand-ins for the 256 byte values."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


def tokenizer_json(merges):
    """A GPT-2 style tokenizer: the 256 bytes, then the merges in rank order."""
    alpha = byte_level_alphabet()
    spell = lambda s: "".join(alpha[b] for b in s.encode())
    vocab = {alpha[b]: b for b in range(256)}
    for a, b in merges:
        vocab.setdefault(spell(a + b), len(vocab))
    return json.dumps({
        "version": "1.0", "normalizer": None, "added_tokens": [],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab,
                  "merges": ["%s %s" % (spell(a), spell(b)) for a, b in merges]}})


MERGES = [("t", "h"), ("h", "e"), ("th", "e"), (" ", "t"), (" t", "he"), ("i", "n"), ("e", "r"),
          ("a", "n"), (" ", "a"), ("o", "n"), ("in", "g"), (" ", "s"), ("r", "e"), ("e", "s")]
TEXT = ("The theory of the thing is that there are no real answers in the end; the rest is "
        "interpretation. Then the rain started, and the three of them ran in. ") * 8


def lmc_logits(tool, d, ids):
    """lmc-hf-logits on the checkpoint in d: ([ids][vocab] float64, None), or (None, its error)."""
    out = os.path.join(d, "logits.f32")
    r = subprocess.run([tool, d, out] + [str(i) for i in ids], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    got = torch.frombuffer(bytearray(open(out, "rb").read()), dtype=torch.float32)
    return got.view(len(ids), -1).double(), None


def convert_and_code(lmc, d, gpt2_model):
    """lmc convert, then a compress/decompress round trip; returns an error or None."""
    conv = os.path.join(d, "converted.safetensors")
    r = subprocess.run([lmc, "convert", d, "-o", conv, "--context", "40"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "lmc convert: " + r.stderr.strip()
    report = r.stdout.strip().splitlines()[-1]
    print("    " + report)
    loss = float(report.split("(")[1].split("%")[0])
    if abs(loss) > 5:
        return "the integer model loses %.2f%% against the float model" % loss
    binary = bytes(torch.randint(0, 256, (1500,), generator=torch.Generator().manual_seed(3)).tolist())
    for name, data in (("text", TEXT.encode()), ("binary", binary), ("empty", b"")):
        src = os.path.join(d, name)
        with open(src, "wb") as f:
            f.write(data)
        r = subprocess.run([lmc, "-m", conv, "compress", "-f", "-o", src + ".lmc", src],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "lmc compress %s: %s" % (name, r.stderr.strip())
        r = subprocess.run([lmc, "-m", conv, "decompress", "-c", src + ".lmc"], capture_output=True)
        if r.returncode != 0 or r.stdout != data:
            return "lmc decompress %s: %s" % (name, r.stderr.decode().strip() or "differs")
        size = os.path.getsize(src + ".lmc")
        print("    %s: %d -> %d bytes, round trip exact" % (name, len(data), size))
    text = os.path.join(d, "text.lmc")
    # The portable kernels (no AVX-512 VNNI) decode what the vector ones coded.
    r = subprocess.run([lmc, "-m", conv, "decompress", "-c", text], capture_output=True,
                       env=dict(os.environ, LMC_NO_SIMD="1"))
    if r.returncode != 0 or r.stdout != TEXT.encode():
        return "LMC_NO_SIMD=1 decompress: " + (r.stderr.decode().strip() or "differs")
    # LibTorch (the plugin lmc loads for --device) computes the same logits:
    # the same frame, and it decodes the kernels' frame. CUDA where this build
    # and machine have it; otherwise a clear refusal.
    with open(text, "rb") as f:
        frame = f.read()
    for device in ("torch:cpu", "cuda"):
        r = subprocess.run([lmc, "-m", conv, "compress", "--device", device, "-c", os.path.join(d, "text")],
                           capture_output=True)
        err = r.stderr.decode().strip()
        if device == "cuda" and r.returncode == 1 and ("CUDA" in err or "LMC_WITH_TORCH" in err):
            print("    --device cuda: refused here (%s)" % err)
            continue
        if r.returncode != 0 or r.stdout != frame:
            return "--device %s compress: %s" % (device, err or "a different frame")
        r = subprocess.run([lmc, "-m", conv, "decompress", "--device", device, "-c", text], capture_output=True)
        if r.returncode != 0 or r.stdout != TEXT.encode():
            return "--device %s decompress: %s" % (device, r.stderr.decode().strip() or "differs")
        print("    --device %s: the same frame, round trip exact" % device)
    r = subprocess.run([lmc, "-m", conv, "info", text], capture_output=True, text=True)
    if r.returncode != 0 or "tokens of a converted model" not in r.stdout or \
            "(the loaded model)" not in r.stdout:
        return "lmc info: " + (r.stdout + r.stderr).strip()
    r = subprocess.run([lmc, "-m", conv, "models"], capture_output=True, text=True)
    if r.returncode != 0 or "(converted)" not in r.stdout:
        return "lmc models: " + (r.stdout + r.stderr).strip()
    # The embedded byte model cannot decode it: exit 3, "made by another model".
    r = subprocess.run([lmc, "decompress", "-c", text], capture_output=True, text=True)
    if r.returncode != 3:
        return "default model on a converted model's frame: exit %d (%s)" % (r.returncode, r.stderr.strip())
    return None


def rnd(*shape):
    return torch.randn(*shape) * 0.3


def gpt2(cfg, prefix=""):
    d, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    ff = cfg.get("n_inner") or 4 * d
    t = {"wte.weight": rnd(V, d), "wpe.weight": rnd(P, d), "ln_f.weight": 1 + rnd(d),
         "ln_f.bias": rnd(d)}
    for i in range(L):
        h = "h.%d." % i
        t.update({h + "ln_1.weight": 1 + rnd(d), h + "ln_1.bias": rnd(d),
                  h + "attn.c_attn.weight": rnd(d, 3 * d), h + "attn.c_attn.bias": rnd(3 * d),
                  h + "attn.c_proj.weight": rnd(d, d), h + "attn.c_proj.bias": rnd(d),
                  h + "attn.bias": torch.tril(torch.ones(1, 1, P, P)),
                  h + "ln_2.weight": 1 + rnd(d), h + "ln_2.bias": rnd(d),
                  h + "mlp.c_fc.weight": rnd(d, ff), h + "mlp.c_fc.bias": rnd(ff),
                  h + "mlp.c_proj.weight": rnd(ff, d), h + "mlp.c_proj.bias": rnd(d)})
    return {prefix + k: v for k, v in t.items()}


def gpt2_logits(cfg, t, ids, prefix=""):
    t = {k[len(prefix):]: v.double() for k, v in t.items()}
    d, nh = cfg["n_embd"], cfg["n_head"]
    hd, eps, T = d // nh, cfg.get("layer_norm_epsilon", 1e-5), len(ids)
    x = t["wte.weight"][ids] + t["wpe.weight"][:T]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for i in range(cfg["n_layer"]):
        h = "h.%d." % i
        a = F.layer_norm(x, (d,), t[h + "ln_1.weight"], t[h + "ln_1.bias"], eps)
        q, k, v = (a @ t[h + "attn.c_attn.weight"] + t[h + "attn.c_attn.bias"]).split(d, dim=-1)
        q, k, v = (z.view(T, nh, hd).transpose(0, 1) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf")).softmax(-1)
        o = (s @ v).transpose(0, 1).reshape(T, d)
        x = x + o @ t[h + "attn.c_proj.weight"] + t[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (d,), t[h + "ln_2.weight"], t[h + "ln_2.bias"], eps)
        m = m @ t[h + "mlp.c_fc.weight"] + t[h + "mlp.c_fc.bias"]
        m = 0.5 * m * (1 + torch.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m ** 3)))
        x = x + m @ t[h + "mlp.c_proj.weight"] + t[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), t["ln_f.weight"], t["ln_f.bias"], eps)
    return x @ t["wte.weight"].T


def llama(cfg, bias):
    d, L, V, ff = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"], cfg["intermediate_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // nh
    t = {"model.embed_tokens.weight": rnd(V, d), "model.norm.weight": 1 + rnd(d)}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = rnd(V, d)
    for i in range(L):
        m = "model.layers.%d." % i
        t.update({m + "input_layernorm.weight": 1 + rnd(d),
                  m + "post_attention_layernorm.weight": 1 + rnd(d),
                  m + "self_attn.q_proj.weight": rnd(nh * hd, d),
                  m + "self_attn.k_proj.weight": rnd(nkv * hd, d),
                  m + "self_attn.v_proj.weight": rnd(nkv * hd, d),
                  m + "self_attn.o_proj.weight": rnd(d, nh * hd),
                  m + "mlp.gate_proj.weight": rnd(ff, d), m + "mlp.up_proj.weight": rnd(ff, d),
                  m + "mlp.down_proj.weight": rnd(d, ff)})
        if bias:
            for p, n in (("q", nh), ("k", nkv), ("v", nkv)):
                t[m + "self_attn.%s_proj.bias" % p] = rnd(n * hd)
    return t


def inv_freq(cfg, hd):
    f = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "linear":
        f = f / rs["factor"]
    elif rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / f
        g = torch.where(wavelen > old / lo, f / factor, f)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * g / factor + smooth * g
        medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
        f = torch.where(medium, smoothed, g)
    return f


def llama_logits(cfg, t, ids):
    t = {k: v.double() for k, v in t.items()}
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps, T = cfg.get("head_dim") or d // nh, cfg["rms_norm_eps"], len(ids)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def rot(x):
        return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), -1)

    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq(cfg, hd))
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos(), emb.sin()
    x = t["model.embed_tokens.weight"][ids]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for i in range(cfg["num_hidden_layers"]):
        m = "model.layers.%d." % i
        a = rms(x, t[m + "input_layernorm.weight"])

        def proj(p, n):
            y = a @ t[m + "self_attn.%s_proj.weight" % p].T
            if m + "self_attn.%s_proj.bias" % p in t:
                y = y + t[m + "self_attn.%s_proj.bias" % p]
            return y.view(T, n, hd).transpose(0, 1)

        q, k, v = proj("q", nh), proj("k", nkv), proj("v", nkv)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(nh // nkv, 0), v.repeat_interleave(nh // nkv, 0)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf")).softmax(-1)
        o = (s @ v).transpose(0, 1).reshape(T, nh * hd)
        x = x + o @ t[m + "self_attn.o_proj.weight"].T
        h = rms(x, t[m + "post_attention_layernorm.weight"])
        g = F.silu(h @ t[m + "mlp.gate_proj.weight"].T) * (h @ t[m + "mlp.up_proj.weight"].T)
        x = x + g @ t[m + "mlp.down_proj.weight"].T
    x = rms(x, t["model.norm.weight"])
    head = t["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else t["lm_head.weight"]
    return x @ head.T


def llama_cfg(arch, **kw):
    c = {"architectures": [arch], "vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 48,
         "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
         "tie_word_embeddings": False, "hidden_act": "silu"}
    c.update(kw)
    return c


def main():
    tool = sys.argv[1]
    lmc = sys.argv[2] if len(sys.argv) > 2 else None
    # 300 ids: the byte-level tokenizer's 270 fit (lmc convert needs that).
    gpt2_cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 300,
                "bos_token_id": 299,
                "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64,
                "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}
    cases = [
        ("gpt2", gpt2_cfg, lambda c: gpt2(c), lambda c, t, i: gpt2_logits(c, t, i), torch.float32),
        ("gpt2, transformer. prefix, F16", gpt2_cfg, lambda c: gpt2(c, "transformer."),
         lambda c, t, i: gpt2_logits(c, t, i, "transformer."), torch.float16),
        ("llama, grouped-query", llama_cfg("LlamaForCausalLM"), lambda c: llama(c, False),
         llama_logits, torch.float32),
        ("llama, tied, head_dim 16, llama3 rope scaling",
         llama_cfg("LlamaForCausalLM", tie_word_embeddings=True, head_dim=16, rope_theta=500000.0,
                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
         lambda c: llama(c, False), llama_logits, torch.float32),
        ("qwen2, q/k/v biases, linear rope scaling, BF16",
         llama_cfg("Qwen2ForCausalLM", rope_scaling={"type": "linear", "factor": 2.0}),
         lambda c: llama(c, True), llama_logits, torch.bfloat16),
        ("mistral, multi-head", llama_cfg("MistralForCausalLM", num_key_value_heads=4,
                                          sliding_window=None), lambda c: llama(c, False),
         llama_logits, torch.float32),
    ]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, cfg, make, ref, dtype) in enumerate(cases):
            d = os.path.join(tmp, str(n))
            os.makedirs(d)
            t = make(cfg)
            t = {k: v.to(dtype).float() for k, v in t.items()}  # what the file holds
            write_safetensors(os.path.join(d, "model.safetensors"), t, dtype)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f)
            with open(os.path.join(d, "tokenizer.json"), "w") as f:
                f.write(tokenizer_json(MERGES))
            ids = torch.randint(0, cfg["vocab_size"], (24,)).tolist()
            want = ref(cfg, t, ids)
            got, error = lmc_logits(tool, d, ids)
            if error is not None:
                print("FAIL: %s: lmc-hf-logits: %s" % (name, error))
                failed += 1
                continue
            err = (got - want).abs().max().item()
            scale = want.abs().max().item()
            ok = got.shape == want.shape and err <= 1e-5 * max(1.0, scale)
            print("%s: %s  max |lmc - torch| = %.2e (logits up to %.1f)" %
                  ("ok" if ok else "FAIL", name, err, scale))
            if ok and lmc:
                problem = convert_and_code(lmc, d, cfg.get("model_type") == "gpt2")
                if problem:
                    print("FAIL: %s: %s" % (name, problem))
                    ok = False
            failed += not ok
    print("hf_reference_test: %d passed, %d failed" % (len(cases) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
