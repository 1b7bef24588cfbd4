"""GPT-2: loading a Hugging Face checkpoint, logits and greedy generation against transformers,
the key/value cache, sampling, and the loader's errors.

The reference is a small randomly initialised GPT-2 built with transformers in the test and
saved with save_pretrained (skipped without transformers)."""
import json
import os

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel, filter_logits
from tinygrad_edu.utils.serialization import load_file, save_file

VOCAB = 97


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    # a wide initialisation, so that greedy decoding does not settle on one token at once
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=4, n_positions=64, vocab_size=VOCAB,
                                     initializer_range=0.3, bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config).eval()
    folder = tmp_path_factory.mktemp("hf_gpt2")
    model.save_pretrained(folder)
    model.generation_config.eos_token_id = None   # run every requested step
    model.generation_config.pad_token_id = 0
    return str(folder), model


def ids(shape, seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, shape)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-4), ("float64", 1e-10)])
def test_logits_match_transformers(hf_folder, dtype, tol):
    import torch

    folder, hf = hf_folder
    model = GPT2LMHeadModel.from_pretrained(folder, dtype=dtype)
    x = ids((3, 17))
    ref_model = hf.double() if dtype == "float64" else hf.float()
    with torch.no_grad():
        ref = ref_model(torch.from_numpy(x)).logits.numpy()
    hf.float()
    got = model(x).logits
    assert got.shape == (3, 17, VOCAB) and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.numpy(), ref, atol=tol, rtol=0)
    # the three input forms agree
    np.testing.assert_array_equal(model(Tensor(x)).logits.numpy(), got.numpy())
    np.testing.assert_array_equal(model(x.tolist()).logits.numpy(), got.numpy())


def test_loss_matches_transformers(hf_folder):
    import torch

    folder, hf = hf_folder
    model = GPT2LMHeadModel.from_pretrained(folder, dtype="float64")
    x = ids((2, 12), seed=3)
    with torch.no_grad():   # transformers' own loss upcasts to float32: shift and average here
        logits = hf.double()(torch.from_numpy(x)).logits
        ref = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, VOCAB),
                                                torch.from_numpy(x[:, 1:]).reshape(-1)).item()
        hf_loss = hf(torch.from_numpy(x), labels=torch.from_numpy(x)).loss.item()
    hf.float()
    loss = model(x, labels=x).loss.item()
    assert abs(loss - ref) < 1e-10 and abs(loss - hf_loss) < 1e-5


def test_greedy_generation_is_token_identical(hf_folder):
    import torch

    folder, hf = hf_folder
    model = GPT2LMHeadModel.from_pretrained(folder)
    prompt = ids((2, 5), seed=4)
    with torch.no_grad():
        ref = hf.generate(torch.from_numpy(prompt), max_new_tokens=30, do_sample=False).numpy()
    out = model.generate(prompt, max_new_tokens=30)
    assert isinstance(out, np.ndarray) and out.dtype == np.int64 and out.shape == (2, 35)
    np.testing.assert_array_equal(out, ref)
    assert len(set(out[0, 5:].tolist())) > 3, "the reference should not be one repeated token"
    t = model.generate(Tensor(prompt[:1]), max_new_tokens=3)
    assert isinstance(t, Tensor) and t.shape == (1, 8)


def test_cache_gives_the_same_logits_as_the_full_sequence(hf_folder):
    folder, _ = hf_folder
    model = GPT2LMHeadModel.from_pretrained(folder, dtype="float64")
    x = ids((2, 20), seed=5)
    full = model(x).logits.numpy()
    cache = model.new_cache(2, 20)
    with tge.no_grad():
        first = model(x[:, :7], cache=cache).logits.numpy()
        pieces = [first] + [model(x[:, t:t + 1], cache=cache).logits.numpy() for t in range(7, 20)]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=1e-12)
    assert cache.length == 20
    with pytest.raises(ValueError, match="exceed"):
        with tge.no_grad():
            model(x[:, :1], cache=cache)


def test_sampling_options(hf_folder):
    folder, _ = hf_folder
    model = GPT2LMHeadModel.from_pretrained(folder)
    prompt = ids((1, 4), seed=6)
    a = model.generate(prompt, max_new_tokens=10, do_sample=True, temperature=0.8, top_k=5, seed=1)
    b = model.generate(prompt, max_new_tokens=10, do_sample=True, temperature=0.8, top_k=5, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 14)
    # the serving code's call: temperature/top_k without do_sample samples; temperature 0 is greedy
    greedy = model.generate(prompt, max_new_tokens=10)
    np.testing.assert_array_equal(model.generate(prompt, max_new_tokens=10, temperature=0, top_k=None), greedy)
    # top_k=1 and a tiny top_p leave only the argmax
    np.testing.assert_array_equal(model.generate(prompt, max_new_tokens=10, do_sample=True, top_k=1), greedy)
    np.testing.assert_array_equal(model.generate(prompt, max_new_tokens=10, do_sample=True, top_p=1e-9), greedy)
    streamed = list(model.stream_generate(prompt, max_new_tokens=10))
    assert streamed == greedy[0, 4:].tolist()
    with pytest.raises(TypeError, match="unexpected option"):
        list(model.stream_generate(prompt, max_new_tokens=2, topk=3))
    # eos stops a row; every row stopped stops the loop
    eos = int(greedy[0, 6])
    stopped = model.generate(prompt, max_new_tokens=10, eos_token_id=eos)
    assert stopped[0, -1] == eos and stopped.shape[1] <= 7
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(prompt, max_new_tokens=-1)
    with pytest.raises(ValueError, match="top_p"):
        model.generate(prompt, max_new_tokens=2, top_p=0)
    with pytest.raises(ValueError, match="positions"):
        model.generate(prompt, max_new_tokens=100)
    with pytest.raises(ValueError, match="batch axis"):
        model.generate(prompt[0], max_new_tokens=2)


def test_filter_logits():
    z = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_k=2)), [[True, True, False, False]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.7)), [[True, True, False, False]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.5)), [[True, False, False, False]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.81)), [[True, True, True, False]])
    np.testing.assert_allclose(filter_logits(z, temperature=2.0), z / 2)


def _rewrite(folder, dst, edit):
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f)
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    edit(tensors)
    save_file(tensors, os.path.join(dst, "model.safetensors"))
    return dst


def test_loader_errors_name_the_tensor(hf_folder, tmp_path):
    folder, _ = hf_folder
    missing = _rewrite(folder, str(tmp_path / "missing"), lambda t: t.pop("transformer.h.1.mlp.c_fc.bias"))
    with pytest.raises(KeyError, match=r"h\.1\.mlp\.c_fc\.bias"):
        GPT2LMHeadModel.from_pretrained(missing)

    def shrink(t):
        t["transformer.h.0.attn.c_attn.weight"] = t["transformer.h.0.attn.c_attn.weight"][:, :60].copy()
    wrong = _rewrite(folder, str(tmp_path / "wrong"), shrink)
    with pytest.raises(ValueError, match=r"h\.0\.attn\.c_attn\.weight.*expected shape \(32, 96\), found \(32, 60\)"):
        GPT2LMHeadModel.from_pretrained(wrong)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        GPT2LMHeadModel.from_pretrained(str(tmp_path / "nowhere"))


def test_mis_shaped_checkpoint_fails_before_reading_the_data(hf_folder, tmp_path, monkeypatch):
    """The header alone decides: load_file is never called for a checkpoint that cannot fit."""
    folder, _ = hf_folder
    wrong = _rewrite(folder, str(tmp_path / "big"),
                     lambda t: t.__setitem__("transformer.wte.weight", np.zeros((VOCAB + 1, 32), np.float32)))
    import tinygrad_edu.models.gpt.loading as loading

    def no_read(path):
        raise AssertionError("the weights were read before the header was checked")
    monkeypatch.setattr(loading, "load_file", no_read)
    with pytest.raises(ValueError, match=r"wte\.weight.*expected shape \(97, 32\), found \(98, 32\)"):
        GPT2LMHeadModel.from_pretrained(wrong)


def test_prefixless_checkpoint_and_state_dict_names(hf_folder, tmp_path):
    """A GPT2Model-style file (no "transformer." prefix) loads the same; our state_dict keeps
    Hugging Face's names, without lm_head (tied)."""
    folder, _ = hf_folder

    def strip(t):
        for k in list(t):
            t[k[len("transformer."):] if k.startswith("transformer.") else k] = t.pop(k)
    plain = _rewrite(folder, str(tmp_path / "plain"), strip)
    a, b = GPT2LMHeadModel.from_pretrained(folder), GPT2LMHeadModel.from_pretrained(plain)
    x = ids((1, 6))
    np.testing.assert_array_equal(a(x).logits.numpy(), b(x).logits.numpy())
    keys = set(a.state_dict())
    assert "transformer.h.0.attn.c_attn.weight" in keys and not any(k.startswith("lm_head") for k in keys)
    assert a.transformer.h[0].attn.c_attn.weight.shape == (96, 32)   # nn.Linear's (out, in)


def test_config_refusals():
    with pytest.raises(ValueError, match="multiple"):
        GPT2Config(n_embd=30, n_head=4)
    with pytest.raises(NotImplementedError, match="activation_function"):
        GPT2Config(activation_function="swish")
    with pytest.raises(NotImplementedError, match="tie_word_embeddings"):
        GPT2Config(tie_word_embeddings=False)


def test_training_lowers_the_loss():
    tge.manual_seed(0)
    config = GPT2Config(vocab_size=11, n_positions=16, n_embd=16, n_layer=1, n_head=2,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config)
    x = np.tile(np.arange(11), 3)[None, :16].repeat(4, axis=0)   # a sequence that counts mod 11
    opt = tge.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    assert model.generate(x[:1, :3], max_new_tokens=5)[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]


def test_decode_step_equals_the_modules(hf_folder):
    """The array-level decoding step (models/gpt/decode.py) against the modules with a cache."""
    from tinygrad_edu.models.gpt.decode import decode_step

    folder, _ = hf_folder
    model = GPT2LMHeadModel.from_pretrained(folder, dtype="float64")
    x = ids((2, 9), seed=8)
    a, b = model.new_cache(2, 9), model.new_cache(2, 9)
    with tge.no_grad():
        model(x[:, :5], cache=a)
        model(x[:, :5], cache=b)
        for t in range(5, 9):
            via_modules = model(x[:, t:t + 1], cache=a).logits.numpy()[:, 0]
            np.testing.assert_allclose(decode_step(model, x[:, t], b), via_modules, atol=1e-12)
    for u, v in zip(a.buffers, b.buffers):
        np.testing.assert_allclose(u, v, atol=1e-12)


def test_unscaled_attention_matches_transformers(tmp_path):
    """scale_attn_weights=False (scores q.k without 1/sqrt(d)) is followed, as in transformers."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(1)
    config = transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, n_positions=16, vocab_size=VOCAB,
                                     scale_attn_weights=False)
    hf = transformers.GPT2LMHeadModel(config).eval()
    hf.save_pretrained(tmp_path)
    model = GPT2LMHeadModel.from_pretrained(tmp_path, dtype="float64")
    x = ids((1, 10), seed=9)
    with torch.no_grad():
        ref = hf.double()(torch.from_numpy(x)).logits.numpy()
    np.testing.assert_allclose(model(x).logits.numpy(), ref, atol=1e-10)
    hf.float()
    hf.generation_config.eos_token_id, hf.generation_config.pad_token_id = None, 0
    with torch.no_grad():
        expected = hf.generate(torch.from_numpy(x[:, :3]), max_new_tokens=5, do_sample=False).numpy()
    np.testing.assert_array_equal(GPT2LMHeadModel.from_pretrained(tmp_path).generate(x[:, :3], max_new_tokens=5),
                                  expected)
