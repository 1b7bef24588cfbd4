"""Sine and cosine, elementwise.

    sin:  out = sin x;  dx = g * cos x
    cos:  out = cos x;  dx = -g * sin x
"""
from __future__ import annotations

from ..autograd import Function
from ..device import array_module


class Sin(Function):
    """out = sin x;  dx = g * cos x."""

    def forward(self, x):
        self.x = x
        return array_module(x).sin(x)

    def backward(self, g):
        return (g * array_module(g).cos(self.x),)


class Cos(Function):
    """out = cos x;  dx = -g * sin x."""

    def forward(self, x):
        self.x = x
        return array_module(x).cos(x)

    def backward(self, g):
        return (-g * array_module(g).sin(self.x),)
