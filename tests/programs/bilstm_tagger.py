"""A bidirectional LSTM tagger on padded variable-length batches, written as PyTorch users
write one: pad_sequence, pack_padded_sequence (unsorted lengths), pad_packed_sequence, and a
cross-entropy that ignores the padding."""

import argparse

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

PAD_TAG = -100


class Tagger(nn.Module):
    def __init__(self, vocab_size, tagset_size, embedding_dim=12, hidden_dim=10):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.hidden2tag = nn.Linear(2 * hidden_dim, tagset_size)

    def forward(self, words, lengths):
        embedded = self.embedding(words)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(packed_out, batch_first=True)
        return self.hidden2tag(out)


def make_data(rng, count, vocab_size, tags):
    """Sentences of random lengths whose tag is the word's id modulo the tag count."""
    sentences = []
    for _ in range(count):
        length = int(rng.integers(2, 9))
        words = rng.integers(1, vocab_size, size=length)
        sentences.append((torch.tensor(words, dtype=torch.long), torch.tensor(words % tags)))
    return sentences


def collate(batch):
    words, tags = zip(*batch)
    lengths = torch.tensor([len(w) for w in words])
    return (
        pad_sequence(list(words), batch_first=True, padding_value=0),
        pad_sequence(list(tags), batch_first=True, padding_value=PAD_TAG),
        lengths,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocab_size, tags = 20, 4
    data = make_data(rng, 20, vocab_size, tags)
    model = Tagger(vocab_size, tags)
    init = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(init.normal(0, 0.3, tuple(p.shape)), dtype=torch.float32))
        model.embedding.weight[0].fill_(0)
    loss_function = nn.CrossEntropyLoss(ignore_index=PAD_TAG)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        total = 0.0
        for start in range(0, len(data), args.batch_size):
            words, targets, lengths = collate(data[start : start + args.batch_size])
            model.zero_grad()
            scores = model(words, lengths)
            loss = loss_function(scores.reshape(-1, tags), targets.reshape(-1))
            loss.backward()
            optimizer.step()
            total += loss.item()
            print(f"epoch {epoch} batch {start // args.batch_size} loss {loss.item():.6f}")
        print(f"epoch {epoch} mean loss {total / 4:.6f}")
    with torch.no_grad():
        words, targets, lengths = collate(data[:5])
        predicted = model(words, lengths).argmax(dim=2)
        mask = targets != PAD_TAG
        accuracy = (predicted[mask] == targets[mask]).float().mean()
        print(f"accuracy {accuracy.item():.6f}")


if __name__ == "__main__":
    main()
