import copy
import random

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset

SEED = 42
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

VOCAB = 30
PAD = 0
NUM_CLASSES = 3


def make_example(rng):
    # class determined by which "keyword" token appears: 1,2,3 -> classes; imbalanced
    label = rng.choices([0, 1, 2], weights=[0.6, 0.3, 0.1])[0]
    L = rng.randint(4, 15)
    toks = [rng.randint(4, VOCAB - 1) for _ in range(L)]
    toks[rng.randrange(L)] = label + 1
    return toks, label


rng = random.Random(SEED)
train_raw = [make_example(rng) for _ in range(600)]
val_raw = [make_example(rng) for _ in range(150)]


class TextDataset(Dataset):
    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        toks, label = self.data[idx]
        return torch.tensor(toks, dtype=torch.long), label


def collate_fn(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    padded = pad_sequence(seqs, batch_first=True, padding_value=PAD)
    return padded, lengths, torch.tensor(labels, dtype=torch.long)


train_loader = DataLoader(
    TextDataset(train_raw), batch_size=32, shuffle=True, collate_fn=collate_fn
)
val_loader = DataLoader(TextDataset(val_raw), batch_size=64, shuffle=False, collate_fn=collate_fn)


class Attention(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attn = nn.Linear(hidden_dim, hidden_dim)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, outputs, mask):
        energy = torch.tanh(self.attn(outputs))
        scores = self.v(energy).squeeze(2)
        scores = scores.masked_fill(mask == 0, -1e9)
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)
        return context, weights


class AttnGRUClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes, n_layers=1, dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.gru = nn.GRU(
            embed_dim,
            hidden_dim,
            num_layers=n_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if n_layers > 1 else 0,
        )
        self.attention = Attention(hidden_dim * 2)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dim * 2, num_classes)

    def forward(self, text, lengths):
        embedded = self.dropout(self.embedding(text))
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        packed_out, hidden = self.gru(packed)
        outputs, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
        mask = (text[:, : outputs.size(1)] != PAD).long()
        context, weights = self.attention(outputs, mask)
        logits = self.fc(self.dropout(context))
        return logits, weights


model = AttnGRUClassifier(VOCAB, 16, 24, NUM_CLASSES).to(device)
print(model)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"The model has {n_params:,} trainable parameters")

counts = torch.bincount(torch.tensor([l for _, l in train_raw]), minlength=NUM_CLASSES).float()
class_weights = (counts.sum() / (NUM_CLASSES * counts)).to(device)
print("class weights", class_weights)
criterion = nn.CrossEntropyLoss(weight=class_weights)
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=1e-2)
scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", patience=1)


def metrics(preds, labels, n):
    conf = torch.bincount(labels * n + preds, minlength=n * n).reshape(n, n)
    tp = conf.diag().float()
    precision = tp / conf.sum(0).clamp(min=1).float()
    recall = tp / conf.sum(1).clamp(min=1).float()
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-8)
    acc = tp.sum() / conf.sum()
    return acc.item(), f1.mean().item(), conf


def train_epoch(model, loader):
    model.train()
    epoch_loss = 0
    for text, lengths, labels in loader:
        text, labels = text.to(device), labels.to(device)
        optimizer.zero_grad()
        logits, _ = model(text, lengths)
        loss = criterion(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
        optimizer.step()
        epoch_loss += loss.item()
    return epoch_loss / len(loader)


def evaluate(model, loader):
    model.eval()
    epoch_loss = 0
    all_preds, all_labels = [], []
    with torch.no_grad():
        for text, lengths, labels in loader:
            text, labels = text.to(device), labels.to(device)
            logits, weights = model(text, lengths)
            loss = criterion(logits, labels)
            epoch_loss += loss.item()
            all_preds.append(torch.argmax(logits, dim=1))
            all_labels.append(labels)
    preds = torch.cat(all_preds)
    labels = torch.cat(all_labels)
    acc, f1, conf = metrics(preds, labels, NUM_CLASSES)
    return epoch_loss / len(loader), acc, f1, conf


best_val_loss = float("inf")
best_state = None
patience, bad_epochs = 3, 0
for epoch in range(12):
    train_loss = train_epoch(model, train_loader)
    val_loss, val_acc, val_f1, conf = evaluate(model, val_loader)
    scheduler.step(val_loss)
    lr = optimizer.param_groups[0]["lr"]
    print(
        f"Epoch {epoch + 1:02} | train loss {train_loss:.4f} | val loss {val_loss:.4f} "
        f"| acc {val_acc * 100:.1f}% | macro-F1 {val_f1:.3f} | lr {lr:.2e}"
    )
    if val_loss < best_val_loss:
        best_val_loss = val_loss
        best_state = copy.deepcopy(model.state_dict())
        bad_epochs = 0
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            print("Early stopping")
            break

model.load_state_dict(best_state)
val_loss, val_acc, val_f1, conf = evaluate(model, val_loader)
print("best val loss %.4f acc %.3f" % (val_loss, val_acc))
print("confusion matrix:\n", conf)
text, lengths, labels = next(iter(val_loader))
_, w = model(text[:2], lengths[:2])
print(
    "attention weights row sums",
    w.sum(1),
    "on pad",
    (w * (text[:2, : w.size(1)] == PAD)).sum().item(),
)
