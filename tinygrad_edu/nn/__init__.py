"""tinygrad_edu.nn: layers (modules), losses and the functional interface."""
from . import functional
