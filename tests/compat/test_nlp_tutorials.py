"""The idioms of PyTorch's NLP tutorials (word embeddings: an N-gram language model and
CBOW; sequence models: an LSTM fed one step at a time and an LSTM part-of-speech tagger), run
on tinygrad_edu and compared with PyTorch from the same initial weights (float64, 1e-6).

Covered: ``torch.tensor(ids, dtype=torch.long)``, ``torch.LongTensor``, ``autograd.Variable``,
``nn.Embedding`` looked up with an index tensor, ``embeds(x).view((1, -1))``,
``F.log_softmax(out, dim=1)``, ``nn.NLLLoss()``, ``model.zero_grad()``, ``loss.item()``,
``optim.SGD``, ``model.embeddings.weight[i]``, ``nn.LSTM`` with an explicit ``(h, c)``
state, ``x.view(1, 1, -1)``, ``torch.cat(list).view(len(list), 1, -1)``,
``torch.randn(1, 3)``, ``lstm_out.view(len(sentence), -1)``, ``torch.no_grad()`` and
``scores.max(1)`` / ``argmax`` for the predicted tags.
"""
import numpy as np
import pytest

import tinygrad_edu as tge

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-6, atol=1e-6)
TEXT = ("when forty winters shall besiege thy brow and dig deep trenches in thy beauty's field "
        "thy youth's proud livery so gazed on now will be a tattered weed").split()


def vocab(words):
    return {w: i for i, w in enumerate(dict.fromkeys(words))}


def copy_weights(ours, theirs):
    theirs.double()
    ours.double()
    state = theirs.state_dict()
    ours.load_state_dict(state if isinstance(ours, torch.nn.Module) else {k: v.numpy() for k, v in state.items()})


def ngram_model(lib, vocab_size, dim=6, context=2):
    nn, F = lib.nn, lib.nn.functional

    class NGramLanguageModeler(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.Embedding(vocab_size, dim)
            self.linear1 = nn.Linear(context * dim, 16)
            self.linear2 = nn.Linear(16, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).view((1, -1))
            out = F.relu(self.linear1(embeds))
            return F.log_softmax(self.linear2(out), dim=1)

    return NGramLanguageModeler()


def train_ngram(lib, model, word_to_ix, epochs=2):
    ngrams = [([TEXT[i - j - 1] for j in range(2)], TEXT[i]) for i in range(2, len(TEXT))]
    loss_function = lib.nn.NLLLoss()
    optimizer = lib.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(epochs):
        total_loss = 0
        for context, target in ngrams:
            context_idxs = lib.tensor([word_to_ix[w] for w in context], dtype=lib.long)
            model.zero_grad()
            log_probs = model(context_idxs)
            loss = loss_function(log_probs, lib.tensor([word_to_ix[target]], dtype=lib.long))
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
        losses.append(total_loss)
    return losses, model.embeddings.weight[word_to_ix["beauty's"]]


def test_embedding_lookup_idioms():
    word_to_ix = {"hello": 0, "world": 1}
    tge.manual_seed(1)
    embeds = tge.nn.Embedding(2, 5)
    for ids in (tge.tensor([word_to_ix["hello"]], dtype=tge.long), tge.LongTensor([word_to_ix["hello"]]),
                tge.autograd.Variable(tge.LongTensor([0]))):
        assert ids.dtype == np.int64
        np.testing.assert_array_equal(embeds(ids).numpy(), embeds.weight.numpy()[:1])


def test_ngram_language_model_matches_torch():
    word_to_ix = vocab(TEXT)
    torch.manual_seed(1)
    theirs = ngram_model(torch, len(word_to_ix))
    ours = ngram_model(tge, len(word_to_ix))
    copy_weights(ours, theirs)
    losses, embedding = train_ngram(tge, ours, word_to_ix)
    tlosses, tembedding = train_ngram(torch, theirs, word_to_ix)
    np.testing.assert_allclose(losses, tlosses, **TOL)
    np.testing.assert_allclose(embedding.numpy(), tembedding.detach().numpy(), **TOL)
    assert losses[1] < losses[0]


def cbow_model(lib, vocab_size, dim=5):
    nn, F = lib.nn, lib.nn.functional

    class CBOW(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.Embedding(vocab_size, dim)
            self.linear = nn.Linear(dim, vocab_size)

        def forward(self, inputs):
            summed = self.embeddings(inputs).sum(dim=0, keepdim=True)
            return F.log_softmax(self.linear(summed), dim=-1)

    return CBOW()


def test_cbow_matches_torch():
    word_to_ix = vocab(TEXT)
    data = [([TEXT[i - 2], TEXT[i - 1], TEXT[i + 1], TEXT[i + 2]], TEXT[i]) for i in range(2, len(TEXT) - 2)]
    torch.manual_seed(2)
    theirs = cbow_model(torch, len(word_to_ix))
    ours = cbow_model(tge, len(word_to_ix))
    copy_weights(ours, theirs)
    results = []
    for lib, model in ((tge, ours), (torch, theirs)):
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for context, target in data:
            optimizer.zero_grad()
            loss = lib.nn.functional.nll_loss(model(lib.tensor([word_to_ix[w] for w in context], dtype=lib.long)),
                                              lib.tensor([word_to_ix[target]], dtype=lib.long))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        results.append(losses)
    np.testing.assert_allclose(results[0], results[1], **TOL)


def test_lstm_step_by_step_matches_torch():
    torch.manual_seed(1)
    theirs = torch.nn.LSTM(3, 3)
    ours = tge.nn.LSTM(3, 3)
    copy_weights(ours, theirs)
    values = np.random.default_rng(0).standard_normal((5, 1, 3))
    state = np.random.default_rng(1).standard_normal((2, 1, 1, 3))
    outputs = []
    for lib, lstm in ((tge, ours), (torch, theirs)):
        inputs = [lib.tensor(v, dtype=lib.float64) for v in values]  # each (1, 3)
        hidden = (lib.tensor(state[0], dtype=lib.float64), lib.tensor(state[1], dtype=lib.float64))
        for i in inputs:
            out, hidden = lstm(i.view(1, 1, -1), hidden)
        hidden0 = (lib.tensor(state[0], dtype=lib.float64), lib.tensor(state[1], dtype=lib.float64))
        whole, (h, c) = lstm(lib.cat(inputs).view(len(inputs), 1, -1), hidden0)
        outputs.append([t.detach().numpy() for t in (out, hidden[0], hidden[1], whole, h, c)])
    for a, b in zip(*outputs):
        np.testing.assert_allclose(a, b, **TOL)
    np.testing.assert_allclose(outputs[0][0], outputs[0][3][-1:], **TOL)  # one step at a time == whole


def tagger(lib, vocab_size, tagset_size, dim=6, hidden=6):
    nn, F = lib.nn, lib.nn.functional

    class LSTMTagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden_dim = hidden
            self.word_embeddings = nn.Embedding(vocab_size, dim)
            self.lstm = nn.LSTM(dim, hidden)
            self.hidden2tag = nn.Linear(hidden, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            return F.log_softmax(tag_space, dim=1)

    return LSTMTagger()


TRAINING = [("the dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
            ("everybody read that book".split(), ["NN", "V", "DET", "NN"])]


def test_lstm_tagger_matches_torch():
    word_to_ix = vocab(w for sent, _ in TRAINING for w in sent)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
    torch.manual_seed(1)
    theirs = tagger(torch, len(word_to_ix), len(tag_to_ix))
    ours = tagger(tge, len(word_to_ix), len(tag_to_ix))
    copy_weights(ours, theirs)
    results = []
    for lib, model in ((tge, ours), (torch, theirs)):
        def prepare_sequence(seq, to_ix):
            return lib.tensor([to_ix[w] for w in seq], dtype=lib.long)

        loss_function = lib.nn.NLLLoss()
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
        with lib.no_grad():
            before = model(prepare_sequence(TRAINING[0][0], word_to_ix)).numpy()
        losses = []
        for epoch in range(30):
            for sentence, tags in TRAINING:
                model.zero_grad()
                tag_scores = model(prepare_sequence(sentence, word_to_ix))
                loss = loss_function(tag_scores, prepare_sequence(tags, tag_to_ix))
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        with lib.no_grad():
            scores = model(prepare_sequence(TRAINING[0][0], word_to_ix))
            predicted = scores.max(1)[1].numpy()
            np.testing.assert_array_equal(predicted, scores.argmax(dim=1).numpy())
        results.append((before, losses, scores.numpy(), predicted))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL)
    assert results[0][1][-1] < results[0][1][0]
