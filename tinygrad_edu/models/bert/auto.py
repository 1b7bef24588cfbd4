"""``Auto*`` names as in Hugging Face transformers: here they all mean BERT."""
from __future__ import annotations

from .config import BertConfig
from .model import BertForSequenceClassification, BertModel
from .tokenizer import BertTokenizer


def _bert_only(path, what: str) -> BertConfig:
    config = BertConfig.from_pretrained(path)
    if config.model_type != "bert":
        raise ValueError(f"{what}: model_type {config.model_type!r} is not supported; only BERT checkpoints are")
    return config


class AutoConfig:
    """``AutoConfig.from_pretrained(folder)``: the BertConfig of a BERT folder."""

    @staticmethod
    def from_pretrained(path, **overrides) -> BertConfig:
        _bert_only(path, "AutoConfig")
        return BertConfig.from_pretrained(path, **overrides)


class AutoTokenizer:
    """``AutoTokenizer.from_pretrained(folder)``: the BertTokenizer of a BERT folder."""

    @staticmethod
    def from_pretrained(path, **overrides) -> BertTokenizer:
        return BertTokenizer.from_pretrained(path, **overrides)


class AutoModel:
    """``AutoModel.from_pretrained(folder)``: a BertModel (only BERT checkpoints are supported)."""

    @staticmethod
    def from_pretrained(path, **kwargs) -> BertModel:
        _bert_only(path, "AutoModel")
        return BertModel.from_pretrained(path, **kwargs)


class AutoModelForSequenceClassification:
    """``AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)``: a
    BertForSequenceClassification (only BERT checkpoints are supported)."""

    @staticmethod
    def from_pretrained(path, **kwargs) -> BertForSequenceClassification:
        _bert_only(path, "AutoModelForSequenceClassification")
        return BertForSequenceClassification.from_pretrained(path, **kwargs)
