"""An LSTM sequence classifier with BatchNorm and a DataLoader, written as PyTorch users write
one: a TensorDataset, a DataLoader in order, an LSTM whose last state goes through BatchNorm1d
and a linear layer, Adam, and an evaluation in eval mode (BatchNorm's running statistics)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


class Classifier(nn.Module):
    def __init__(self, features, hidden, classes):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.norm = nn.BatchNorm1d(hidden)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(torch.relu(self.norm(h_n[-1])))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sequences = rng.standard_normal((40, 6, 3)).astype(np.float32)
    labels = (sequences[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    dataset = TensorDataset(torch.from_numpy(sequences), torch.from_numpy(labels))
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    model = Classifier(3, 10, 2)
    init = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.copy_(torch.from_numpy(init.uniform(-0.3, 0.3, tuple(p.shape)).astype("float32")))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        for batch, (x, y) in enumerate(loader):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            print(f"epoch {epoch} batch {batch} loss {loss.item():.6f}")
        model.eval()
        with torch.no_grad():
            correct = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
        print(f"epoch {epoch} accuracy {correct / len(dataset):.6f}")
        print(f"epoch {epoch} running mean {model.norm.running_mean.sum().item():.6f}")


if __name__ == "__main__":
    main()
