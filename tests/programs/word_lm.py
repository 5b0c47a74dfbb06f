"""A word-level language model, written as PyTorch's word_language_model example writes one:
Embedding, a 2-layer LSTM, a decoder tied to the embedding, truncated BPTT with the hidden
state carried and detached between chunks, gradient clipping and a hand-written SGD step."""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=True):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.decoder.out_features)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (
            weight.new_zeros(self.nlayers, bsz, self.nhid),
            weight.new_zeros(self.nlayers, bsz, self.nhid),
        )


def deterministic_init(model, seed):
    """The same starting weights in any framework: drawn with NumPy, copied in."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            values = rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)
            p.copy_(torch.from_numpy(values))


def corpus(vocabulary, length, seed):
    """A synthetic text with some structure: each word tends to follow its predecessor + 1."""
    rng = np.random.default_rng(seed)
    words = [0]
    for _ in range(length - 1):
        step = 1 if rng.random() < 0.7 else int(rng.integers(vocabulary))
        words.append((words[-1] + step) % vocabulary)
    return torch.tensor(words, dtype=torch.long)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i : i + seq_len]
    target = source[i + 1 : i + 1 + seq_len].view(-1)
    return data, target


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=20)
    parser.add_argument("--clip", type=float, default=0.25)
    parser.add_argument("--bptt", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    torch.manual_seed(0)
    ntokens = 30
    train_data = batchify(corpus(ntokens, 400, seed=1), args.batch_size)
    model = RNNModel(ntokens, 16, 16, 2, args.dropout)
    deterministic_init(model, seed=2)
    criterion = nn.NLLLoss()
    model.train()
    hidden = model.init_hidden(args.batch_size)
    lr = args.lr
    for step, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
        if step == args.steps:
            break
        data, targets = get_batch(train_data, i, args.bptt)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        print(f"step {step} loss {loss.item():.6f} ppl {math.exp(loss.item()):.4f}")
        if step == 3:
            lr /= 4.0


if __name__ == "__main__":
    main()
