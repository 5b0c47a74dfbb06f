# Sequence Models and LSTMs tutorial, augmented with character-level features
import torch
import torch.autograd as autograd
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Variable

torch.manual_seed(1)


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return Variable(torch.LongTensor(idxs))


def prepare_chars(word, char_to_ix):
    return torch.tensor([char_to_ix[c] for c in word], dtype=torch.long)


training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ("The cat saw a mouse".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("A girl likes the book".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("That man ate an apple".split(), ["DET", "NN", "V", "DET", "NN"]),
]
word_to_ix = {}
char_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
        for c in word:
            if c not in char_to_ix:
                char_to_ix[c] = len(char_to_ix)
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
ix_to_tag = {v: k for k, v in tag_to_ix.items()}

EMBEDDING_DIM = 6
HIDDEN_DIM = 6
CHAR_EMBEDDING_DIM = 3
CHAR_HIDDEN_DIM = 3


class LSTMTagger(nn.Module):
    def __init__(
        self,
        embedding_dim,
        hidden_dim,
        char_embedding_dim,
        char_hidden_dim,
        vocab_size,
        charset_size,
        tagset_size,
    ):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim
        self.char_hidden_dim = char_hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.char_embeddings = nn.Embedding(charset_size, char_embedding_dim)
        self.char_lstm = nn.LSTM(char_embedding_dim, char_hidden_dim)
        self.lstm = nn.LSTM(embedding_dim + char_hidden_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)
        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (
            autograd.Variable(torch.zeros(1, 1, self.hidden_dim)),
            autograd.Variable(torch.zeros(1, 1, self.hidden_dim)),
        )

    def init_char_hidden(self):
        return (torch.zeros(1, 1, self.char_hidden_dim), torch.zeros(1, 1, self.char_hidden_dim))

    def forward(self, sentence, words_chars):
        word_embeds = self.word_embeddings(sentence)
        char_reps = []
        for chars in words_chars:
            char_embeds = self.char_embeddings(chars)
            char_hidden = self.init_char_hidden()
            _, (h_n, c_n) = self.char_lstm(char_embeds.view(len(chars), 1, -1), char_hidden)
            char_reps.append(h_n.view(1, -1))
        char_rep = torch.cat(char_reps, dim=0)
        combined = torch.cat((word_embeds, char_rep), dim=1)
        lstm_out, self.hidden = self.lstm(combined.view(len(sentence), 1, -1), self.hidden)
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


model = LSTMTagger(
    EMBEDDING_DIM,
    HIDDEN_DIM,
    CHAR_EMBEDDING_DIM,
    CHAR_HIDDEN_DIM,
    len(word_to_ix),
    len(char_to_ix),
    len(tag_to_ix),
)
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

with torch.no_grad():
    sentence = training_data[0][0]
    inputs = prepare_sequence(sentence, word_to_ix)
    chars = [prepare_chars(w, char_to_ix) for w in sentence]
    tag_scores = model(inputs, chars)
    print(tag_scores)

for epoch in range(150):
    total = 0.0
    for sentence, tags in training_data:
        model.zero_grad()
        model.hidden = model.init_hidden()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        chars_in = [prepare_chars(w, char_to_ix) for w in sentence]
        targets = prepare_sequence(tags, tag_to_ix)
        tag_scores = model(sentence_in, chars_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
        total += loss.data[0] if loss.dim() > 0 else loss.item()
    if epoch % 25 == 0 or epoch == 149:
        print("epoch %d loss %.4f" % (epoch, total / len(training_data)))

with torch.no_grad():
    correct = 0
    count = 0
    for sentence, tags in training_data:
        model.hidden = model.init_hidden()
        inputs = prepare_sequence(sentence, word_to_ix)
        chars = [prepare_chars(w, char_to_ix) for w in sentence]
        tag_scores = model(inputs, chars)
        _, predicted = torch.max(tag_scores, 1)
        correct += (predicted == prepare_sequence(tags, tag_to_ix)).sum().item()
        count += len(tags)
    print(tag_scores)
    print("pred:", [ix_to_tag[int(i)] for i in predicted])
    print("accuracy: %.3f" % (correct / count))
