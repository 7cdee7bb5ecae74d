"""The demo's small CNN for 8x8 digits: three stride-1 3x3 convs (Winograd-eligible) and one linear layer."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class DigitsNet(nn.Module):
    """conv 1→16 → conv 16→32 → pool → conv 32→64 → pool → linear 256→10 (25,866 parameters).

    Example:
        >>> DigitsNet()(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 2 * 2, 10)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = self.pool(torch.relu(self.conv2(x)))
        x = self.pool(torch.relu(self.conv3(x)))
        return self.fc(torch.flatten(x, 1))


def train_digits_net(train: TensorDataset, *, epochs: int = 30, seed: int = 0, lr: float = 3e-3) -> DigitsNet:
    """Train a :class:`DigitsNet` from a seeded initialisation with Adam (deterministic on CPU).

    Example:
        >>> from compress.demo.digits import load_digits
        >>> net = train_digits_net(load_digits("train"), epochs=1)  # doctest: +SKIP
    """
    torch.manual_seed(seed)
    model = DigitsNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, data: TensorDataset) -> float:
    """Top-1 accuracy of ``model`` on ``data`` as a fraction.

    Example:
        >>> accuracy(DigitsNet(), load_digits("test")) < 0.5  # doctest: +SKIP
        True
    """
    model.eval()
    x, y = data.tensors
    return float((model(x).argmax(1) == y).float().mean())
