import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
np.random.seed(0)
text = "the quick brown fox jumps over the lazy dog. " * 20 + "a stitch in time saves nine. " * 20
chars = tuple(sorted(set(text)))
int2char = dict(enumerate(chars))
char2int = {ch: ii for ii, ch in int2char.items()}
encoded = np.array([char2int[ch] for ch in text])
n_chars = len(chars)
print("n_chars", n_chars, "len", len(encoded))


def get_batches(arr, batch_size, seq_length):
    batch_size_total = batch_size * seq_length
    n_batches = len(arr) // batch_size_total
    arr = arr[: n_batches * batch_size_total]
    arr = arr.reshape((batch_size, -1))
    for n in range(0, arr.shape[1], seq_length):
        x = arr[:, n : n + seq_length]
        y = np.zeros_like(x)
        try:
            y[:, :-1], y[:, -1] = x[:, 1:], arr[:, n + seq_length]
        except IndexError:
            y[:, :-1], y[:, -1] = x[:, 1:], arr[:, 0]
        yield x, y


class CharRNN(nn.Module):
    def __init__(self, tokens, n_hidden=64, n_layers=2, drop_prob=0.2, lr=0.005):
        super().__init__()
        self.drop_prob = drop_prob
        self.n_layers = n_layers
        self.n_hidden = n_hidden
        self.lr = lr
        self.chars = tokens
        self.lstm = nn.LSTM(
            len(self.chars), n_hidden, n_layers, dropout=drop_prob, batch_first=True
        )
        self.dropout = nn.Dropout(drop_prob)
        self.fc = nn.Linear(n_hidden, len(self.chars))

    def forward(self, x, hidden):
        r_output, hidden = self.lstm(x, hidden)
        out = self.dropout(r_output)
        out = out.contiguous().view(-1, self.n_hidden)
        out = self.fc(out)
        return out, hidden

    def init_hidden(self, batch_size):
        weight = next(self.parameters()).data
        hidden = (
            weight.new(self.n_layers, batch_size, self.n_hidden).zero_(),
            weight.new(self.n_layers, batch_size, self.n_hidden).zero_(),
        )
        return hidden

    def init_hidden2(self, batch_size):
        return tuple(torch.zeros(self.n_layers, batch_size, self.n_hidden) for _ in range(2))


def train(
    net,
    data,
    epochs=10,
    batch_size=8,
    seq_length=25,
    lr=0.005,
    clip=5,
    val_frac=0.1,
    print_every=20,
):
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    val_idx = int(len(data) * (1 - val_frac))
    data, val_data = data[:val_idx], data[val_idx:]
    counter = 0
    for e in range(epochs):
        h = net.init_hidden(batch_size) if e % 2 == 0 else net.init_hidden2(batch_size)
        for x, y in get_batches(data, batch_size, seq_length):
            counter += 1
            inputs = F.one_hot(torch.from_numpy(x), n_chars).float()
            targets = torch.from_numpy(y)
            h = tuple([each.data for each in h])
            net.zero_grad()
            output, h = net(inputs, h)
            if counter % 2:
                loss = criterion(output, targets.view(batch_size * seq_length).long())
            else:
                loss = criterion(output.view(-1, n_chars), targets.contiguous().view(-1).long())
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
            if counter % print_every == 0:
                val_h = net.init_hidden(4)
                val_losses = []
                net.eval()
                for x, y in get_batches(val_data, 4, seq_length):
                    x = F.one_hot(torch.from_numpy(x).long(), num_classes=n_chars).float()
                    inputs, targets = x, torch.from_numpy(y)
                    val_h = tuple([each.data for each in val_h])
                    output, val_h = net(inputs, val_h)
                    val_loss = criterion(output, targets.view(-1).long())
                    val_losses.append(val_loss.item())
                net.train()
                print(
                    "Epoch: {}/{}...".format(e + 1, epochs),
                    "Step: {}...".format(counter),
                    "Loss: {:.4f}...".format(loss.item()),
                    "Val Loss: {:.4f}".format(np.mean(val_losses)),
                )


def predict(net, char, h=None, top_k=None, temperature=1.0):
    x = np.array([[net.char2int[char]]])
    inputs = F.one_hot(torch.from_numpy(x), n_chars).float()
    h = tuple([each.data for each in h])
    out, h = net(inputs, h)
    p = F.softmax(out / temperature, dim=1).data
    if top_k is None:
        top_ch = np.arange(len(net.chars))
    else:
        p, top_ch = p.topk(top_k)
        top_ch = top_ch.numpy().squeeze()
    p = p.numpy().squeeze()
    char = np.random.choice(top_ch, p=p / p.sum())
    return net.int2char[char], h


def sample(net, size, prime="the", top_k=None, temperature=1.0):
    net.eval()
    chars = [ch for ch in prime]
    h = net.init_hidden(1)
    for ch in prime:
        char, h = predict(net, ch, h, top_k=top_k, temperature=temperature)
    chars.append(char)
    for ii in range(size):
        char, h = predict(net, chars[-1], h, top_k=top_k, temperature=temperature)
        chars.append(char)
    return "".join(chars)


def sample_multinomial(net, size, prime="a", temperature=0.8):
    net.eval()
    h = net.init_hidden2(1)
    out_chars = list(prime)
    with torch.no_grad():
        for ch in prime:
            inp = F.one_hot(torch.tensor([[char2int[ch]]]), n_chars).float()
            out, h = net(inp, h)
        for _ in range(size):
            probs = torch.softmax(out.squeeze() / temperature, dim=-1)
            idx = torch.multinomial(probs, num_samples=1).item()
            out_chars.append(int2char[idx])
            inp = F.one_hot(torch.tensor([[idx]]), n_chars).float()
            out, h = net(inp, h)
    return "".join(out_chars)


net = CharRNN(chars)
net.int2char, net.char2int = int2char, char2int
print(net)
train(net, encoded, epochs=12)
print(repr(sample(net, 60, prime="the", top_k=3)))
print(repr(sample(net, 60, prime="a ", top_k=None, temperature=0.5)))
print(repr(sample_multinomial(net, 60)))
checkpoint = {
    "n_hidden": net.n_hidden,
    "n_layers": net.n_layers,
    "state_dict": net.state_dict(),
    "tokens": net.chars,
}
with open("rnn_x_epoch.net", "wb") as f:
    torch.save(checkpoint, f)
with open("rnn_x_epoch.net", "rb") as f:
    ck = torch.load(f)
net2 = CharRNN(ck["tokens"], n_hidden=ck["n_hidden"], n_layers=ck["n_layers"])
net2.load_state_dict(ck["state_dict"])
print("reloaded tokens ok:", ck["tokens"] == chars)
