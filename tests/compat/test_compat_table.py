"""docs/pytorch_compat.md stays true: every name marked "yes" resolves on tinygrad_edu (with
``torch`` read as ``tinygrad_edu``) and every name marked "no" does not."""
import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytorch_compat.md"
ROW = re.compile(r"^\| `(torch(?:\.\w+)*)` \| (yes|no) \|")


def rows():
    found = [m.groups() for m in map(ROW.match, DOC.read_text(encoding="utf-8").splitlines()) if m]
    assert len(found) > 250, "the table lost its rows"
    return found


def resolve(dotted: str):
    """``torch.a.b`` -> the object ``tinygrad_edu.a.b`` (submodules imported on the way);
    AttributeError when any part is missing."""
    parts = dotted.split(".")[1:]
    obj = importlib.import_module("tinygrad_edu")
    path = "tinygrad_edu"
    for part in parts:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(f"{path}.{part}")
            except ModuleNotFoundError:
                raise AttributeError(f"{dotted}: no {part!r} in {path}") from None
        path = f"{path}.{part}"
    return obj


def test_names_marked_present_exist_and_absent_ones_do_not():
    wrong = []
    for name, present in rows():
        try:
            resolve(name)
            exists = True
        except AttributeError:
            exists = False
        if exists != (present == "yes"):
            wrong.append(f"{name}: marked {present}, but it {'exists' if exists else 'is missing'}")
    assert not wrong, "docs/pytorch_compat.md is out of date:\n" + "\n".join(wrong)


def test_each_name_is_listed_once():
    names = [name for name, _ in rows()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("module", ["torch", "torch.nn", "torch.nn.functional", "torch.optim"])
def test_every_section_has_both_kinds(module):
    mine = [present for name, present in rows() if name.rsplit(".", 1)[0] == module]
    assert "yes" in mine and "no" in mine
