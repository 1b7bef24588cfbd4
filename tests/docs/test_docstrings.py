"""Every public name of the API contract (docs/api.md, the project's own API reference) exists
and says what it does, and the ones that take tensors say what shapes.

The names are read from docs/api.md itself: every `backticked` piece of a section is split at
top-level commas and its leading dotted name is looked up in the namespace of the section
(Tensor, nn.functional, nn, optim, models, the BERT module, keras, the top-level package).
Pieces that are not names of the library (keyword arguments, variables such as `t`,
`model.`, expressions, environment variables) are recognised and skipped.

Checks, each a separate test per name:
* the name exists;
* it has a non-empty docstring (methods, functions, classes, properties, modules; plain
  instance attributes such as `.grad` cannot carry one and are only checked to exist);
* F functions, nn layers (not the containers), the models and the Keras layers state
  shapes: their docstring (with their ``forward``'s, for classes) contains "shape" or a
  shape tuple such as ``(N, C, H, W)``, ``(N,)`` or ``(*, in)``.
"""
import importlib
import inspect
import re
from pathlib import Path

import pytest

import tinygrad_edu as tge

REPO = Path(__file__).resolve().parents[2]
API = REPO / "docs" / "api.md"  # in the repository, so that the checks run in every clone

_NAME = re.compile(r"^\.?((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)")
# the word "shape", or a shape tuple starting with an upper-case size name:
# (N, C, H, W), (N,), (T, N, H), (*, D)
_SHAPE = re.compile(r"(?i:\bshapes?\b)|\((?:\*\w*|[A-Z]\w*)\s*[,)]")

# placeholders and non-library words that API.md writes in backticks
_NOT_NAMES = {
    "t", "p", "y", "x", "np", "repr", "path", "tokenizer", "TGE_BACKEND", "TGE_NUM_THREADS",
    "attn_mask", "key_padding_mask", "last_hidden_state", "logits", "history", "word_index",
    "training", "data", "grad", "requires_grad", "dtype_", "loss", "metric", "fn",
}


def _split_top_level(text: str):
    """Split at commas that are not inside brackets or quotes."""
    parts, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _sections():
    text = API.read_text(encoding="utf-8")
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = chunk.partition("\n")
        yield title.strip(), re.findall(r"`([^`]+)`", body)


def _names(tokens):
    for token in tokens:
        for piece in _split_top_level(token):
            if re.match(r"^\w+\s*=", piece) or piece.startswith(("np.", "(", "[", '"')):
                continue  # a keyword argument, NumPy, a tuple or a literal
            match = _NAME.match(piece)
            if match:
                yield match.group(1)


# ------------------------------------------------------------------------------------
# where each section's names live
# ------------------------------------------------------------------------------------

def _nn():
    from tinygrad_edu import nn
    return nn


def _lookup(name: str, spaces):
    """The object `name` (dotted) names in the first namespace that has it, or None."""
    for space in spaces:
        obj = space
        for part in name.split("."):
            obj = inspect.getattr_static(obj, part, None) if inspect.isclass(obj) else getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    return None


def _strip(name: str, prefixes):
    for prefix in prefixes:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _resolve(section: str, name: str):
    """(what kind of name, object) for a name of a section; kind None = not a library name."""
    from tinygrad_edu import models, optim
    from tinygrad_edu.keras.preprocessing import sequence, text
    import tinygrad_edu.keras as keras
    import tinygrad_edu.nn.functional as F

    nn = _nn()
    last = name.split(".")[-1]
    if name in _NOT_NAMES or last in _NOT_NAMES:
        return None, None
    if section.startswith("Tensor"):
        short = _strip(name, ("Tensor.", "tge.", "t.", "y."))
        return "method", _lookup(short, [tge.Tensor, tge])
    if section.startswith("nn.functional"):
        obj = _lookup(name, [F])
        return ("function", obj) if obj is not None else ("class", _lookup(name, [nn]))
    if section.startswith("nn (modules)"):
        short = _strip(name, ("nn.",))
        obj = _lookup(short, [nn])
        if obj is not None:
            return "class", obj
        return "method", _lookup(short, [nn.Module])
    if section.startswith("optim"):
        short = _strip(name, ("optim.",))
        obj = _lookup(short, [optim])
        return ("class", obj) if obj is not None else ("method", _lookup(short, [optim.Optimizer]))
    if section.startswith("Saving") or section.startswith("Backends"):
        return "function", _lookup(_strip(name, ("tge.",)), [tge])
    if section.startswith("Models"):
        return "class", _lookup(name, [models])
    if section.startswith("Pretrained BERT"):
        bert = importlib.import_module("tinygrad_edu.models.bert")
        return "class", _lookup(name, [bert])
    if section.startswith("Keras"):
        if name.startswith("tinygrad_edu."):
            return "module", importlib.import_module(name)
        short = _strip(name, ("keras.", "model."))
        if short == "sequence":
            return "module", sequence
        spaces = [keras, keras.layers, keras.Sequential, text.Tokenizer, sequence]
        return "method", _lookup(short, spaces)
    return None, None


def _public_names():
    if not API.is_file():
        return []
    seen, out = set(), []
    for section, tokens in _sections():
        for name in _names(tokens):
            kind, obj = _resolve(section, name) if section != "Import" else (None, None)
            key = (section, name if obj is None else id(obj))
            if kind is None or key in seen:
                continue
            seen.add(key)
            out.append(pytest.param(section, name, id=f"{section.split()[0]}:{name}"))
    return out


PUBLIC = _public_names()


def _doc_of(obj) -> str:
    """The docstring of a function, class, module, property or staticmethod ('' if none)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    if type(obj).__name__ in ("member_descriptor", "getset_descriptor"):
        return None  # a plain attribute (__slots__): it cannot carry a docstring
    return inspect.getdoc(obj) or ""


def _needs_shape(section: str, name: str, obj) -> bool:
    nn = _nn()
    if section.startswith("nn.functional") or section.startswith("Models"):
        return True
    if section.startswith("nn (modules)"):
        return (inspect.isclass(obj) and issubclass(obj, nn.Module)
                and obj not in (nn.Module, nn.Sequential, nn.ModuleList))
    if section.startswith("Keras"):
        from tinygrad_edu.keras import layers
        return inspect.isclass(obj) and getattr(layers, obj.__name__, None) is obj \
            and obj.__name__ not in ("Flatten", "Dropout")
    return False


def _shape_text(obj) -> str:
    text = _doc_of(obj) or ""
    if inspect.isclass(obj):
        for method in ("forward", "call", "__call__"):
            fn = inspect.getattr_static(obj, method, None)
            if fn is not None and getattr(fn, "__doc__", None):
                text += "\n" + inspect.getdoc(fn)
    return text


def test_api_md_is_there_and_parsed():
    assert API.is_file(), f"the API reference {API} is missing"
    assert len(PUBLIC) > 100, len(PUBLIC)



@pytest.mark.parametrize("section,name", PUBLIC)
def test_public_name_has_a_docstring(section, name):
    kind, obj = _resolve(section, name)
    assert obj is not None, f"API.md ({section}) names `{name}`, which does not exist"
    doc = _doc_of(obj)
    if doc is None:
        return
    assert doc.strip(), f"`{name}` ({section}) has no docstring"
    if _needs_shape(section, name, obj):
        assert _SHAPE.search(_shape_text(obj)), (
            f"the docstring of `{name}` ({section}) states no shape: write the shapes it "
            f"takes and returns, e.g. x (N, C, H, W) -> (N, O, OH, OW)")


def _bert_model_classes():
    if not API.is_file():
        return []
    names = []
    for section, tokens in _sections():
        if section.startswith("Pretrained BERT"):
            names += [n.split(".")[0] for n in _names(tokens) if n.endswith(".from_pretrained")]
    return [n for n in dict.fromkeys(names) if "Tokenizer" not in n]


@pytest.mark.parametrize("name", _bert_model_classes())
def test_bert_models_state_shapes(name):
    bert = importlib.import_module("tinygrad_edu.models.bert")
    cls = getattr(bert, name)
    assert _SHAPE.search(_shape_text(cls)), f"the docstring of {name} states no shape"
