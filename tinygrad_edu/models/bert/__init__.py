"""BERT, built from tinygrad_edu.nn layers, that loads a Hugging Face-format checkpoint offline.

A BERT folder (e.g. all-MiniLM-L6-v2) holds ``config.json`` (the sizes), ``model.safetensors``
(the weights, by name) and ``vocab.txt`` (the WordPiece vocabulary)::

    from tinygrad_edu.models.bert import BertTokenizer, BertModel, encode_sentences

    tokenizer = BertTokenizer.from_pretrained(folder)
    model = BertModel.from_pretrained(folder)            # eval mode, float32
    batch = tokenizer(["A sentence.", "Another one, longer."], padding=True, return_tensors="np")
    out = model(**batch)                                 # out.last_hidden_state: (2, T, H)
    emb = encode_sentences(model, tokenizer, ["A sentence."])   # (1, H), unit length

The network (post-LayerNorm BERT, as in the paper and in Hugging Face's ``BertModel``)::

    embeddings  h0 = LayerNorm(word[ids] + token_type[types] + position[0..T-1]),  dropout
    each layer  a  = LayerNorm(h + dropout(Wo . SelfAttention(h)))
                h' = LayerNorm(a + dropout(W2 . gelu(W1 . a)))
    pooler      tanh(Wp . h_L[:, 0])             (the [CLS] position; only if the checkpoint has it)

    SelfAttention(h): q, k, v = h Wq, h Wk, h Wv split into heads of size d = H / heads;
        softmax(q k^T / sqrt(d) + bias) v, with bias = (1 - mask) * min_float on padded keys.

The module tree and parameter names are Hugging Face's, so ``model.state_dict()`` keys equal
the checkpoint's (``encoder.layer.0.attention.self.query.weight`` ...) and loading is a
name-by-name copy. Checkpoints saved from a task model carry a ``bert.`` prefix
(``bert.embeddings...``); both spellings are accepted, as are the old ``gamma``/``beta``
names of the LayerNorm parameters.

The package, each module importing only those above it:

    config      BertConfig (config.json), ModelOutput, the input checks
    wordpiece   the basic tokenizer and WordPiece, as functions
    encoding    BatchEncoding, truncation
    tokenizer   BertTokenizer (vocab.txt, Hugging Face's ``__call__``)
    layers      embeddings, self-attention, the encoder layer, the pooler
    loading     reading a checkpoint folder, the name-by-name copy, BertPreTrainedModel
    model       BertModel, BertForSequenceClassification, sentence embeddings
    auto        AutoConfig, AutoTokenizer, AutoModel, AutoModelForSequenceClassification
"""
from .auto import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer
from .config import CONFIG_FILE, WEIGHTS_FILE, BertConfig, ModelOutput
from .encoding import BatchEncoding
from .layers import (BertAttention, BertEmbeddings, BertEncoder, BertIntermediate, BertLayer, BertOutput,
                     BertPooler, BertSelfAttention, BertSelfOutput)
from .loading import BertPreTrainedModel, find_minilm_checkpoint
from .model import BertForSequenceClassification, BertModel, encode_sentences, l2_normalize, mean_pooling
from .tokenizer import BertTokenizer
from .wordpiece import load_vocab

__all__ = [
    "BertConfig", "ModelOutput", "BertEmbeddings", "BertSelfAttention", "BertSelfOutput",
    "BertAttention", "BertIntermediate", "BertOutput", "BertLayer", "BertEncoder", "BertPooler",
    "BertPreTrainedModel", "BertModel", "BertForSequenceClassification", "BertTokenizer",
    "BatchEncoding", "mean_pooling", "l2_normalize", "encode_sentences",
    "AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForSequenceClassification",
    "find_minilm_checkpoint", "load_vocab", "CONFIG_FILE", "WEIGHTS_FILE",
]
