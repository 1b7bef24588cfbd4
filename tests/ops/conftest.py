"""Fixtures of the op and autograd tests."""
import pytest

from ..helpers import LIBS


@pytest.fixture(params=LIBS, ids=lambda lib: lib.name)
def lib(request):
    """Run an autograd scenario on tinygrad_edu and, when it is installed, on PyTorch."""
    return request.param
