import copy

import numpy as np
import torch
from torch import nn

RANDOM_SEED = 42
np.random.seed(RANDOM_SEED)
torch.manual_seed(RANDOM_SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

SEQ_LEN = 24
t = np.linspace(0, 2 * np.pi, SEQ_LEN)


def normal_seq():
    return (
        np.sin(t + np.random.uniform(0, 2 * np.pi)) * np.random.uniform(0.8, 1.2)
        + np.random.normal(0, 0.05, SEQ_LEN)
    ).astype(np.float32)


def anomaly_seq():
    s = normal_seq()
    i = np.random.randint(0, SEQ_LEN - 6)
    s[i : i + 6] += np.random.uniform(1.5, 2.5)
    return s


normal_df = np.stack([normal_seq() for _ in range(160)])
anomaly_df = np.stack([anomaly_seq() for _ in range(30)])
train_df, val_df, test_normal_df = normal_df[:100], normal_df[100:130], normal_df[130:]


def create_dataset(df):
    sequences = df.astype(np.float32).tolist()
    dataset = [torch.tensor(s).unsqueeze(1).float() for s in sequences]
    n_seq, seq_len, n_features = torch.stack(dataset).shape
    return dataset, seq_len, n_features


train_dataset, seq_len, n_features = create_dataset(train_df)
val_dataset, _, _ = create_dataset(val_df)
test_normal_dataset, _, _ = create_dataset(test_normal_df)
test_anomaly_dataset, _, _ = create_dataset(anomaly_df)
print("seq_len", seq_len, "n_features", n_features, train_dataset[0].shape, train_dataset[0].dtype)


class Encoder(nn.Module):
    def __init__(self, seq_len, n_features, embedding_dim=16):
        super(Encoder, self).__init__()
        self.seq_len, self.n_features = seq_len, n_features
        self.embedding_dim, self.hidden_dim = embedding_dim, 2 * embedding_dim
        self.rnn1 = nn.LSTM(
            input_size=n_features, hidden_size=self.hidden_dim, num_layers=1, batch_first=True
        )
        self.rnn2 = nn.LSTM(
            input_size=self.hidden_dim, hidden_size=embedding_dim, num_layers=1, batch_first=True
        )

    def forward(self, x):
        x = x.reshape((1, self.seq_len, self.n_features))
        x, (_, _) = self.rnn1(x)
        x, (hidden_n, _) = self.rnn2(x)
        return hidden_n.reshape((self.n_features, self.embedding_dim))


class Decoder(nn.Module):
    def __init__(self, seq_len, input_dim=16, n_features=1):
        super(Decoder, self).__init__()
        self.seq_len, self.input_dim = seq_len, input_dim
        self.hidden_dim, self.n_features = 2 * input_dim, n_features
        self.rnn1 = nn.LSTM(
            input_size=input_dim, hidden_size=input_dim, num_layers=1, batch_first=True
        )
        self.rnn2 = nn.LSTM(
            input_size=input_dim, hidden_size=self.hidden_dim, num_layers=1, batch_first=True
        )
        self.output_layer = nn.Linear(self.hidden_dim, n_features)

    def forward(self, x):
        x = x.repeat(self.seq_len, self.n_features)
        x = x.reshape((self.n_features, self.seq_len, self.input_dim))
        x, (hidden_n, cell_n) = self.rnn1(x)
        x, (hidden_n, cell_n) = self.rnn2(x)
        x = x.reshape((self.seq_len, self.hidden_dim))
        return self.output_layer(x)


class RecurrentAutoencoder(nn.Module):
    def __init__(self, seq_len, n_features, embedding_dim=16):
        super(RecurrentAutoencoder, self).__init__()
        self.encoder = Encoder(seq_len, n_features, embedding_dim).to(device)
        self.decoder = Decoder(seq_len, embedding_dim, n_features).to(device)

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


model = RecurrentAutoencoder(seq_len, n_features, 16)
model = model.to(device)


def train_model(model, train_dataset, val_dataset, n_epochs):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.L1Loss(reduction="sum").to(device)
    history = dict(train=[], val=[])
    best_model_wts = copy.deepcopy(model.state_dict())
    best_loss = 10000.0
    for epoch in range(1, n_epochs + 1):
        model = model.train()
        train_losses = []
        for seq_true in train_dataset:
            optimizer.zero_grad()
            seq_true = seq_true.to(device)
            seq_pred = model(seq_true)
            loss = criterion(seq_pred, seq_true)
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
        val_losses = []
        model = model.eval()
        with torch.no_grad():
            for seq_true in val_dataset:
                seq_true = seq_true.to(device)
                seq_pred = model(seq_true)
                loss = criterion(seq_pred, seq_true)
                val_losses.append(loss.item())
        train_loss = np.mean(train_losses)
        val_loss = np.mean(val_losses)
        history["train"].append(train_loss)
        history["val"].append(val_loss)
        if val_loss < best_loss:
            best_loss = val_loss
            best_model_wts = copy.deepcopy(model.state_dict())
        print(f"Epoch {epoch}: train loss {train_loss:.4f} val loss {val_loss:.4f}")
    model.load_state_dict(best_model_wts)
    return model.eval(), history


model, history = train_model(model, train_dataset, val_dataset, n_epochs=6)

MODEL_PATH = "model.pth"
torch.save(model, MODEL_PATH)
model = torch.load(MODEL_PATH, weights_only=False)


def predict(model, dataset):
    predictions, losses = [], []
    criterion = nn.L1Loss(reduction="sum").to(device)
    with torch.no_grad():
        model = model.eval()
        for seq_true in dataset:
            seq_true = seq_true.to(device)
            seq_pred = model(seq_true)
            loss = criterion(seq_pred, seq_true)
            predictions.append(seq_pred.cpu().numpy().flatten())
            losses.append(loss.item())
    return predictions, losses


_, losses = predict(model, train_dataset)
THRESHOLD = float(np.percentile(losses, 95))
print("threshold (95th percentile of train losses): %.3f" % THRESHOLD)
predictions, pred_losses = predict(model, test_normal_dataset)
correct = sum(l <= THRESHOLD for l in pred_losses)
print(f"Correct normal predictions: {correct}/{len(test_normal_dataset)}")
predictions, pred_losses = predict(model, test_anomaly_dataset)
correct = sum(l > THRESHOLD for l in pred_losses)
print(f"Correct anomaly predictions: {correct}/{len(test_anomaly_dataset)}")
print("history keys", list(history.keys()), "best val", min(history["val"]))
print("pred dtype", predictions[0].dtype, predictions[0].shape)
