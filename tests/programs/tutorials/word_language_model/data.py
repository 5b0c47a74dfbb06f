import builtins
import os

import torch


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


def make_synthetic(path, seed=0):
    import random

    rng = random.Random(seed)
    os.makedirs(path, exist_ok=True)
    vocab = [
        "the",
        "cat",
        "dog",
        "sat",
        "on",
        "mat",
        "ran",
        "to",
        "a",
        "big",
        "small",
        "house",
        "tree",
        "and",
        "saw",
    ]
    for name, n in (("train.txt", 300), ("valid.txt", 40), ("test.txt", 40)):
        with builtins.open(os.path.join(path, name), "w", encoding="utf8") as f:
            for _ in range(n):
                L = rng.randint(3, 9)
                f.write(" ".join(rng.choice(vocab) for _ in range(L)) + "\n")


class Corpus:
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, "train.txt"))
        self.valid = self.tokenize(os.path.join(path, "valid.txt"))
        self.test = self.tokenize(os.path.join(path, "test.txt"))

    def tokenize(self, path):
        assert os.path.exists(path)
        with builtins.open(path, encoding="utf8") as f:
            for line in f:
                words = line.split() + ["<eos>"]
                for word in words:
                    self.dictionary.add_word(word)
        with builtins.open(path, encoding="utf8") as f:
            idss = []
            for line in f:
                words = line.split() + ["<eos>"]
                ids = []
                for word in words:
                    ids.append(self.dictionary.word2idx[word])
                idss.append(torch.tensor(ids).type(torch.int64))
            ids = torch.cat(idss)
        return ids
