"""The article's PyTorch LSTM text classifier, run by tinygrad_edu with only the imports changed.

    import torch  ->  import tinygrad_edu as torch      (and torch.nn, torch.optim likewise)

The article leaves the data undefined; here it is made up: sequences of random token ids
whose label says whether token ids from the lower half of the vocabulary are in the
majority in the last 5 positions. TGE_EXAMPLE_EPOCHS sets the epochs (default 10) and
TGE_EXAMPLE_QUICK=1 uses less data, for the tests:

    python examples/lstm_pytorch.py
"""
import os

import tinygrad_edu as torch
import tinygrad_edu.nn as nn
import tinygrad_edu.optim as optim
from tinygrad_edu.data import DataLoader, TensorDataset   # torch.utils.data

num_epochs = int(os.environ.get("TGE_EXAMPLE_EPOCHS", "10"))
num_samples = 256 if os.environ.get("TGE_EXAMPLE_QUICK") == "1" else 2048


# 定义 LSTM 模型
class LSTMModel(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim):
        super(LSTMModel, self).__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        embedded = self.embedding(x)
        lstm_out, (hidden, cell) = self.lstm(embedded)
        out = self.fc(lstm_out[:, -1, :])   # 取最后一个时间步的输出
        return out


# 超参数
vocab_size = 1000
embedding_dim = 32
hidden_dim = 64
output_dim = 2
seq_len = 20

# 数据 (made up, see the docstring)
torch.manual_seed(0)
inputs = torch.randint(0, vocab_size, (num_samples, seq_len))
labels = ((inputs[:, -5:] < vocab_size // 2).sum(axis=1) >= 3).long()
train_loader = DataLoader(TensorDataset(inputs, labels), batch_size=32, shuffle=True)

model = LSTMModel(vocab_size, embedding_dim, hidden_dim, output_dim)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)

# 训练循环
for epoch in range(num_epochs):
    total_loss = 0.0
    for batch_inputs, batch_labels in train_loader:
        optimizer.zero_grad()
        outputs = model(batch_inputs)
        loss = criterion(outputs, batch_labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    print(f'Epoch [{epoch + 1}/{num_epochs}], Loss: {total_loss / len(train_loader):.4f}')

# 评估
with torch.no_grad():
    outputs = model(inputs)
    _, predicted = torch.max(outputs, 1)
    accuracy = (predicted == labels).sum().item() / labels.size(0)
print(f'Accuracy: {accuracy:.4f}')
