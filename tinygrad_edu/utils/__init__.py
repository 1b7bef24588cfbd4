"""Utilities: gradient checking, saving and loading, graph drawing."""
