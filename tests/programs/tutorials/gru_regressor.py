import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(42)
torch.cuda.manual_seed_all(42)
np.random.seed(42)
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
print("device:", device)

# synthetic "stock" = sine + trend + noise
t = np.arange(0, 400)
series = np.sin(t * 0.1) + 0.002 * t + 0.05 * np.random.randn(len(t))
series = series.astype(np.float32)
mn, mx = series.min(), series.max()
scaled = (series - mn) / (mx - mn)


def create_sequences(data, seq_length):
    xs, ys = [], []
    for i in range(len(data) - seq_length):
        xs.append(data[i : i + seq_length])
        ys.append(data[i + seq_length])
    return np.array(xs), np.array(ys)


seq_length = 20
X, y = create_sequences(scaled, seq_length)
X = X.reshape(-1, seq_length, 1)
y = y.reshape(-1, 1)
train_size = int(len(X) * 0.8)
X_train, X_test = X[:train_size], X[train_size:]
y_train, y_test = y[:train_size], y[train_size:]

X_train_t = torch.FloatTensor(X_train)
y_train_t = torch.FloatTensor(y_train)
X_test_t = torch.from_numpy(X_test).float()
y_test_t = torch.from_numpy(y_test).type(torch.Tensor)
print("shapes:", X_train_t.shape, y_train_t.shape, X_test_t.shape, y_test_t.shape, y_test_t.dtype)

train_loader = DataLoader(TensorDataset(X_train_t, y_train_t), batch_size=32, shuffle=True)


class GRUModel(nn.Module):
    def __init__(self, input_size=1, hidden_size=32, num_layers=2, output_size=1, dropout=0.2):
        super(GRUModel, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.gru = nn.GRU(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout,
        )
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        out, hn = self.gru(x, h0.detach())
        out = self.fc(out[:, -1, :])
        return out


model = GRUModel().to(device)
criterion = nn.MSELoss(reduction="mean")
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
print(model)

num_epochs = 30
hist = np.zeros(num_epochs)
for epoch in range(num_epochs):
    model.train()
    running = 0.0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        y_pred = model(xb)
        loss = criterion(y_pred, yb)
        loss.backward()
        optimizer.step()
        running += loss.item() * xb.size(0)
    scheduler.step()
    hist[epoch] = running / len(train_loader.dataset)
    if epoch % 5 == 0 or epoch == num_epochs - 1:
        print(
            f"Epoch {epoch} MSE: {hist[epoch]:.6f} lr: {scheduler.get_last_lr()[0]:.5f} "
            f"lr_pg: {optimizer.param_groups[0]['lr']:.5f}"
        )

model.eval()
with torch.no_grad():
    pred_train = model(X_train_t.to(device)).detach().cpu().numpy()
    pred_test = model(X_test_t.to(device)).detach().cpu().numpy()

pred_test_inv = pred_test * (mx - mn) + mn
y_test_inv = y_test * (mx - mn) + mn
pred_train_inv = pred_train * (mx - mn) + mn
y_train_inv = y_train * (mx - mn) + mn
train_rmse = np.sqrt(np.mean((pred_train_inv - y_train_inv) ** 2))
test_rmse = np.sqrt(np.mean((pred_test_inv - y_test_inv) ** 2))
print("pred dtype:", pred_test.dtype, pred_test.shape)
print(f"Train Score: {train_rmse:.4f} RMSE")
print(f"Test Score: {test_rmse:.4f} RMSE")
naive = np.sqrt(np.mean((y_test_inv[1:] - y_test_inv[:-1]) ** 2))
print(f"Naive persistence RMSE: {naive:.4f}")

# multi-step forecast feeding predictions back
window = torch.FloatTensor(scaled[-seq_length:]).view(1, seq_length, 1)
preds = []
with torch.no_grad():
    for _ in range(5):
        p = model(window)
        preds.append(p.item())
        window = torch.cat((window[:, 1:, :], p.unsqueeze(1)), dim=1)
print("forecast:", np.round(np.array(preds) * (mx - mn) + mn, 3))
torch.save(
    {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": num_epochs},
    "gru_ckpt.pth",
)
ck = torch.load("gru_ckpt.pth")
model.load_state_dict(ck["model"])
optimizer.load_state_dict(ck["optimizer"])
print("reloaded epoch", ck["epoch"])
