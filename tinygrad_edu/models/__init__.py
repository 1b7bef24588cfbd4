"""The models of the articles."""
