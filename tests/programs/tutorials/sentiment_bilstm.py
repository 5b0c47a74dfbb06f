import random

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset

SEED = 1234
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
torch.backends.cudnn.deterministic = True

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# synthetic data: positive words 2..11, negative words 12..21, neutral 22..49
VOCAB = 50
POS = list(range(2, 12))
NEG = list(range(12, 22))
NEU = list(range(22, VOCAB))


def make_example():
    label = random.randint(0, 1)
    n = random.randint(4, 15)
    toks = [random.choice(NEU) for _ in range(n)]
    k = random.randint(1, 3)
    for _ in range(k):
        toks[random.randrange(n)] = random.choice(POS if label else NEG)
    return toks, label


class SentimentDataset(Dataset):
    def __init__(self, n):
        self.data = [make_example() for _ in range(n)]

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        toks, label = self.data[idx]
        return torch.tensor(toks, dtype=torch.long), torch.tensor(label, dtype=torch.float)


def collate_fn(batch):
    texts, labels = zip(*batch)
    lengths = [len(t) for t in texts]
    texts = pad_sequence(texts, batch_first=True, padding_value=0)
    return texts, torch.tensor(lengths), torch.stack(labels)


class RNN(nn.Module):
    def __init__(
        self,
        vocab_size,
        embedding_dim,
        hidden_dim,
        output_dim,
        n_layers,
        bidirectional,
        dropout,
        pad_idx,
        pretrained=None,
    ):
        super().__init__()
        if pretrained is not None:
            self.embedding = nn.Embedding.from_pretrained(
                pretrained, freeze=False, padding_idx=pad_idx
            )
        else:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(
            embedding_dim,
            hidden_dim,
            num_layers=n_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            batch_first=True,
        )
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        packed_embedded = pack_padded_sequence(
            embedded, text_lengths.to("cpu"), batch_first=True, enforce_sorted=False
        )
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = pad_packed_sequence(packed_output, batch_first=True)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    acc = correct.sum() / len(correct)
    return acc


def train(model, iterator, optimizer, criterion):
    epoch_loss = 0
    epoch_acc = 0
    model.train()
    for text, text_lengths, label in iterator:
        text, label = text.to(device), label.to(device)
        optimizer.zero_grad()
        predictions = model(text, text_lengths).squeeze(1)
        loss = criterion(predictions, label)
        acc = binary_accuracy(predictions, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion):
    epoch_loss = 0
    epoch_acc = 0
    model.eval()
    with torch.no_grad():
        for text, text_lengths, label in iterator:
            predictions = model(text, text_lengths).squeeze(1)
            loss = criterion(predictions, label)
            acc = binary_accuracy(predictions, label)
            epoch_loss += loss.item()
            epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


train_ds = SentimentDataset(400)
valid_ds = SentimentDataset(100)
print("example:", train_ds[0])
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, collate_fn=collate_fn)
valid_loader = DataLoader(valid_ds, batch_size=64, shuffle=False, collate_fn=collate_fn)

text, lengths, label = next(iter(train_loader))
print("batch:", text.shape, text.dtype, lengths, lengths.dtype, label.dtype)

for use_pretrained in (False, True):
    print("=== pretrained" if use_pretrained else "=== random embeddings")
    pretrained = None
    if use_pretrained:
        weights = torch.randn(VOCAB, 32)
        weights[0] = 0
        pretrained = weights
    model = RNN(VOCAB, 32, 24, 1, 2, True, 0.3, 0, pretrained).to(device)
    print(model)
    print(f"The model has {count_parameters(model):,} trainable parameters")
    print("pad row zero:", model.embedding.weight[0].abs().sum().item())
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.BCEWithLogitsLoss().to(device)
    best_valid_loss = float("inf")
    for epoch in range(6):
        train_loss, train_acc = train(model, train_loader, optimizer, criterion)
        valid_loss, valid_acc = evaluate(model, valid_loader, criterion)
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            torch.save(model.state_dict(), "best.pt")
        print(
            f"Epoch: {epoch + 1:02} | Train Loss: {train_loss:.3f} "
            f"| Train Acc: {train_acc * 100:.2f}% | Val. Loss: {valid_loss:.3f} "
            f"|  Val. Acc: {valid_acc * 100:.2f}%"
        )
    model.load_state_dict(torch.load("best.pt"))
    valid_loss, valid_acc = evaluate(model, valid_loader, criterion)
    print(f"Best: Val Loss: {valid_loss:.3f} | Val Acc: {valid_acc * 100:.2f}%")
    print("pad row after training:", model.embedding.weight[0].abs().sum().item())

    def predict_sentiment(model, toks):
        model.eval()
        tensor = torch.LongTensor(toks).to(device).unsqueeze(0)
        length_tensor = torch.LongTensor([len(toks)])
        prediction = torch.sigmoid(model(tensor, length_tensor))
        return prediction.item()

    print("pos sent:", round(predict_sentiment(model, [2, 30, 31, 3]), 3))
    print("neg sent:", round(predict_sentiment(model, [12, 30, 31, 13]), 3))
