#!/usr/bin/env python3
"""lmc's float loaders against Hugging Face transformers (issue 7, check b).

tests/hf_reference_test.py compares lmc-hf-logits with a PyTorch re-implementation
written for it; this compares it with transformers itself, where transformers is
installed (scripts/device-check.sh's GPU machine): tiny random GPT-2, Llama
(grouped-query, tied, llama3 RoPE scaling) and Qwen2 models made by
transformers' own classes and written with save_pretrained (safetensors).

  scripts/device-check-transformers.py LMC_HF_LOGITS
Exit 0 when every case agrees within 1e-4 of the logits' scale.
"""
import os
import sys
import tempfile

import torch
import transformers as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from hf_reference_test import lmc_logits  # noqa: E402  (one runner of lmc-hf-logits)


def cases():
    """(name, a function making the model): each case fails alone if this transformers lacks it."""
    common = dict(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, max_position_embeddings=64, initializer_range=0.2)
    llama3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
              "high_freq_factor": 4.0, "original_max_position_embeddings": 16}
    if int(tf.__version__.split(".")[0]) >= 5:
        # Transformers 5 takes (and writes) rope_theta inside rope_parameters.
        rope = dict(rope_parameters=dict(llama3, rope_theta=500000.0))
    else:
        rope = dict(rope_theta=500000.0, rope_scaling=llama3)
    yield "gpt2", lambda: tf.GPT2LMHeadModel(tf.GPT2Config(
        vocab_size=300, n_embd=64, n_layer=2, n_head=4, n_positions=64, initializer_range=0.2))
    yield "llama, grouped-query", lambda: tf.LlamaForCausalLM(
        tf.LlamaConfig(num_key_value_heads=2, **common))
    yield "llama, tied, llama3 rope", lambda: tf.LlamaForCausalLM(tf.LlamaConfig(
        num_key_value_heads=2, tie_word_embeddings=True, **rope, **common))
    yield "qwen2, q/k/v biases", lambda: tf.Qwen2ForCausalLM(
        tf.Qwen2Config(num_key_value_heads=2, **common))


def main():
    tool = sys.argv[1]
    torch.manual_seed(0)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, make) in enumerate(cases()):
            d = os.path.join(tmp, str(n))
            ids = torch.randint(0, 300, (24,)).tolist()
            try:
                model = make().float().eval()
                model.save_pretrained(d, safe_serialization=True)
                with torch.no_grad():
                    want = model(torch.tensor([ids])).logits[0].double()
            except Exception as e:  # an API this transformers lacks: that case fails, the rest run
                print("FAIL: %s: transformers: %s: %s" % (name, type(e).__name__, e))
                failed += 1
                continue
            got, error = lmc_logits(tool, d, ids)
            if error is not None:
                print("FAIL: %s: lmc-hf-logits: %s" % (name, error))
                failed += 1
                continue
            err = (got - want).abs().max().item() if got.shape == want.shape else float("inf")
            scale = want.abs().max().item()
            ok = err <= 1e-4 * max(1.0, scale)
            print("%s: %s  max |lmc - transformers| = %.2e (logits up to %.1f)" %
                  ("ok" if ok else "FAIL", name, err, scale))
            failed += not ok
    print("transformers %s: %d cases, %d failed" % (tf.__version__, n + 1, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
