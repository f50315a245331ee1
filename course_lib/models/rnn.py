"""Recurrent networks (lesson 02): the cell, backpropagation through time, and the models.

* A vanilla RNN cell from scratch: NumPy forward and backpropagation through time (BPTT),
  then the same cell in torch, equal to ``torch.nn.RNN`` with copied weights.
* Gradient norms ``||d h_T / d h_t||`` against the distance ``T - t`` for a recurrent matrix
  of a chosen spectral radius: vanishing below 1, exploding above; clipping by global norm.
* The models of lesson 02's experiments, each built from a config: sequence classifiers
  (RNN, LSTM, GRU and a one-layer attention model) and the adding-problem regressor. The
  encoder-decoder whose single context vector is the bottleneck is
  :class:`course_lib.models.seq2seq.Seq2Seq` with ``attention=False``. The experiments themselves
  (data, training, timing) are in :mod:`course_lib.experiments.long_range`.

Shapes: B batch, T sequence length, I input width, D hidden width, V vocabulary, C classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from course_lib.attention import MultiHeadAttention
from course_lib.attention.positions import LearnedPositionalEmbedding
from course_lib.core.validation import check_divisible, check_positive_ints

__all__ = [
    "Params", "init_rnn_params", "rnn_step_numpy", "rnn_forward_numpy", "rnn_backward_numpy",
    "RNNCell", "SimpleRNN", "copy_from_torch_rnn", "matrix_with_spectral_radius",
    "spectral_radius", "gradient_norms_vs_distance", "clip_by_global_norm",
    "RecurrentClassifierConfig", "RecurrentClassifier", "AttentionClassifierConfig",
    "AttentionClassifier", "AddingRegressorConfig", "AddingRegressor",
]

# --- NumPy RNN: forward and backpropagation through time ----------------------------------

Params = dict[str, np.ndarray]


def init_rnn_params(input_size: int, hidden_size: int, *, seed: int = 0,
                    spectral_radius: float | None = None) -> Params:
    """Random parameters ``{"W_xh": (I, D), "W_hh": (D, D), "b_h": (D,)}``.

    ``W_hh`` is Gaussian with variance ``1 / D`` (spectral radius close to 1), or rescaled to
    exactly ``spectral_radius`` when it is given.
    """
    rng = np.random.default_rng(seed)
    w_hh = (rng.standard_normal((hidden_size, hidden_size)) / math.sqrt(hidden_size))
    if spectral_radius is not None:
        w_hh = w_hh * (spectral_radius / _radius_of(w_hh))
    return {
        "W_xh": rng.standard_normal((input_size, hidden_size)) / math.sqrt(input_size),
        "W_hh": w_hh,
        "b_h": np.zeros(hidden_size),
    }


def rnn_step_numpy(x_t: np.ndarray, h_prev: np.ndarray, W_xh: np.ndarray, W_hh: np.ndarray,
                   b_h: np.ndarray) -> np.ndarray:
    """One step of a vanilla (Elman) RNN: ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)``.

    Args: x_t (B, I), h_prev (B, D), W_xh (I, D), W_hh (D, D), b_h (D,). Returns h_t (B, D).
    """
    if x_t.shape[-1] != W_xh.shape[0]:
        raise ValueError(f"x_t: expected last dimension {W_xh.shape[0]} (rows of W_xh), "
                         f"got shape {x_t.shape}")
    if h_prev.shape[-1] != W_hh.shape[0]:
        raise ValueError(f"h_prev: expected last dimension {W_hh.shape[0]} (rows of W_hh), "
                         f"got shape {h_prev.shape}")
    return np.tanh(x_t @ W_xh + h_prev @ W_hh + b_h)


def rnn_forward_numpy(x: np.ndarray, h0: np.ndarray, params: Params) -> np.ndarray:
    """Run the RNN over a sequence. x (B, T, I), h0 (B, D) -> hidden states hs (B, T, D)."""
    if x.ndim != 3:
        raise ValueError(f"x: expected shape (B, T, I), got {x.shape}")
    hs = []
    h = h0
    for t in range(x.shape[1]):
        h = rnn_step_numpy(x[:, t], h, params["W_xh"], params["W_hh"], params["b_h"])
        hs.append(h)
    return np.stack(hs, axis=1)


def rnn_backward_numpy(dhs: np.ndarray, x: np.ndarray, h0: np.ndarray, hs: np.ndarray,
                       params: Params) -> tuple[Params, np.ndarray]:
    """Backpropagation through time for :func:`rnn_forward_numpy`.

    Args:
        dhs: (B, T, D) gradient of the loss with respect to every hidden state (zero where
            the loss does not read a state directly).
        x, h0, hs: the forward pass's input (B, T, I), initial state (B, D), states (B, T, D).

    Returns ``(grads, dh0)``: gradients with the keys of ``params``, and (B, D) for ``h0``.
    The gradient flowing back from step t to t - 1 is multiplied by
    ``diag(1 - h_t^2) W_hh^T`` at every step: that repeated product is why it vanishes or
    explodes.
    """
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dh_next = np.zeros_like(h0)  # gradient arriving from step t + 1
    for t in reversed(range(x.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dh = dhs[:, t] + dh_next
        da = dh * (1.0 - hs[:, t] ** 2)  # through tanh: tanh'(a) = 1 - tanh(a)^2
        grads["W_xh"] += x[:, t].T @ da
        grads["W_hh"] += h_prev.T @ da
        grads["b_h"] += da.sum(axis=0)
        dh_next = da @ params["W_hh"].T
    return grads, dh_next


# --- torch RNN: a readable cell, checked against torch.nn.RNN -----------------------------


class RNNCell(nn.Module):
    """``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, laid out as ``torch.nn.RNN``.

    forward(x_t (B, I), h_prev (B, D)) -> h_t (B, D).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)  # torch.nn.RNN's initialisation
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(
            torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    def forward(self, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        """``x_t (B, I)``, ``h_prev (B, D)`` -> ``h_t (B, D)``."""
        if x_t.shape[-1] != self.input_size:
            raise ValueError(f"x_t: expected last dimension {self.input_size}, "
                             f"got shape {tuple(x_t.shape)}")
        return torch.tanh(x_t @ self.weight_ih.T + self.bias_ih
                          + h_prev @ self.weight_hh.T + self.bias_hh)


class SimpleRNN(nn.Module):
    """The readable RNN: a Python loop over :class:`RNNCell` (batch first).

    forward(x (B, T, I), h0 (B, D) or None) -> (hs (B, T, D), h_T (B, D)).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.cell = RNNCell(input_size, hidden_size)

    def forward(self, x: torch.Tensor,
                h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, I)``, ``h0 (B, D)`` (``None``: zeros) -> ``(hs (B, T, D), h_T (B, D))``."""
        if x.dim() != 3:
            raise ValueError(f"x: expected shape (B, T, I), got {tuple(x.shape)}")
        h = x.new_zeros(x.shape[0], self.cell.hidden_size) if h0 is None else h0
        states = []
        for t in range(x.shape[1]):  # step t needs h_{t-1}: the loop cannot be parallel
            h = self.cell(x[:, t], h)
            states.append(h)
        return torch.stack(states, dim=1), h


@torch.no_grad()
def copy_from_torch_rnn(ours: SimpleRNN, theirs: nn.RNN) -> None:
    """Copy a one-layer, tanh, batch-first ``torch.nn.RNN``'s weights into ``ours``."""
    if theirs.num_layers != 1 or theirs.nonlinearity != "tanh" or theirs.bidirectional:
        raise ValueError("theirs: expected a one-layer, unidirectional tanh nn.RNN, got "
                         f"num_layers={theirs.num_layers}, nonlinearity={theirs.nonlinearity!r},"
                         f" bidirectional={theirs.bidirectional}")
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(ours.cell, name).copy_(getattr(theirs, f"{name}_l0"))


# --- vanishing and exploding gradients ----------------------------------------------------


def matrix_with_spectral_radius(size: int, spectral_radius: float, *, seed: int = 0) -> np.ndarray:
    """A random Gaussian (D, D) matrix scaled so its largest |eigenvalue| is ``spectral_radius``."""
    if spectral_radius <= 0:
        raise ValueError(f"spectral_radius: expected > 0, got {spectral_radius}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((size, size)) / math.sqrt(size)
    return w * (spectral_radius / _radius_of(w))


def spectral_radius(matrix: np.ndarray) -> float:
    """Largest absolute eigenvalue of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


_radius_of = spectral_radius  # for the functions whose argument is named spectral_radius


def gradient_norms_vs_distance(W_hh: np.ndarray, num_steps: int, *, nonlinearity: str = "linear",
                               input_scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """Spectral norm of ``d h_T / d h_{T-k}`` for ``k = 0 .. num_steps - 1``.

    Runs ``h_t = f(x_t + h_{t-1} W_hh)`` for ``num_steps`` steps on Gaussian inputs of scale
    ``input_scale`` (``f`` is the identity for ``"linear"``, else ``tanh``), then multiplies
    the step Jacobians backwards from ``T``. For the linear RNN the product is ``W_hh^k``,
    whose norm grows like ``rho^k`` (``rho`` the spectral radius). tanh multiplies in
    ``diag(1 - h^2)``, whose entries are at most 1, so the product is bounded by
    ``||W_hh||_2^k`` (each factor has norm at most ``||W_hh||_2``). It is *not* bounded by the
    linear product ``||W_hh^k||``: for a non-normal ``W = [[1, 1], [-1, -1]]`` and
    ``D = diag(1, 0.5)``, ``||W^2|| = 0`` but ``||W D W|| = 1``.

    Returns a (num_steps,) array; entry k is the norm at distance k (entry 0 is 1).
    """
    if nonlinearity not in ("linear", "tanh"):
        raise ValueError(f"nonlinearity: expected 'linear' or 'tanh', got {nonlinearity!r}")
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"W_hh: expected a square (D, D) matrix, got shape {W_hh.shape}")
    rng = np.random.default_rng(seed)
    size = W_hh.shape[0]
    h = np.zeros(size)
    derivatives = []  # f'(a_t) for t = 1 .. T
    for _ in range(num_steps):
        a = input_scale * rng.standard_normal(size) + h @ W_hh
        h = a if nonlinearity == "linear" else np.tanh(a)
        derivatives.append(np.ones(size) if nonlinearity == "linear" else 1.0 - h ** 2)
    # Row-vector convention: h_t = f(a_t), a_t = ... + h_{t-1} W_hh, so
    # d h_t / d h_{t-1} = W_hh diag(f'(a_t)) acting on row vectors from the right.
    jacobian = np.eye(size)
    norms = [1.0]
    for t in range(num_steps - 1, 0, -1):  # from d h_T/d h_T back to d h_T/d h_1
        jacobian = (W_hh * derivatives[t][None, :]) @ jacobian
        norms.append(float(np.linalg.norm(jacobian, 2)))
    return np.array(norms)


# --- sequence classifiers for the long-range task -----------------------------------------


_KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(kw_only=True)
class RecurrentClassifierConfig:
    """Sizes of a :class:`RecurrentClassifier`; ``kind`` in {"rnn", "lstm", "gru"};
    ``gate_bias`` initialises the LSTM forget / GRU update gate (``None``: torch's init)."""

    kind: str
    vocab_size: int
    num_classes: int
    hidden_size: int = 32
    embed_dim: int = 16
    gate_bias: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind: expected one of {sorted(_KINDS)}, got {self.kind!r}")
        check_positive_ints(self, "vocab_size", "num_classes", "hidden_size", "embed_dim")


class RecurrentClassifier(nn.Module):
    """Embedding -> RNN, LSTM or GRU (torch's fused modules) -> last state -> class logits.

    Built from a :class:`RecurrentClassifierConfig`. forward(x (B, T) ids) -> logits (B, C).
    """

    def __init__(self, config: RecurrentClassifierConfig) -> None:
        super().__init__()
        self.config = config
        kind, hidden_size, embed_dim = config.kind, config.hidden_size, config.embed_dim
        vocab_size, num_classes, gate_bias = config.vocab_size, config.num_classes, config.gate_bias
        self.kind = kind
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = _KINDS[kind](embed_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)
        if gate_bias is not None and kind != "rnn":
            # The LSTM's forget gate and the GRU's update gate are rows H:2H of torch's
            # stacked weights. A positive bias makes them start near "keep the old state",
            # an identity path along which gradients neither vanish nor explode (Gers et
            # al., 2000; Jozefowicz et al., 2015; Tallec & Ollivier, 2018). A vanilla RNN
            # has no such gate.
            with torch.no_grad():
                for bias in (self.rnn.bias_ih_l0, self.rnn.bias_hh_l0):
                    bias[hidden_size:2 * hidden_size].fill_(gate_bias / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T)`` token ids -> logits ``(B, C)``."""
        states, _ = self.rnn(self.embed(x))
        return self.head(states[:, -1])

    def keep_gates(self, x: torch.Tensor) -> torch.Tensor:
        """The gate on the additive path at every step: ``x (B, T)`` ids -> ``(B, T, H)``.

        LSTM: the forget gate ``f_t``, in ``c_t = f_t * c_{t-1} + i_t * g_t``; GRU: the update
        gate ``z_t``, in ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}`` (torch's conventions). Along
        that path ``d c_t / d c_{t-1}`` (LSTM) or its direct term in ``d h_t / d h_{t-1}`` (GRU)
        is ``diag(gate)``: no weight matrix, no tanh derivative. Both gates are rows
        ``H:2H`` of torch's stacked weights, computed here from the states torch returns.
        """
        if self.kind == "rnn":
            raise ValueError("kind: expected 'lstm' or 'gru' (a vanilla RNN has no gate), "
                             "got 'rnn'")
        with torch.no_grad():
            inputs = self.embed(x)                                    # (B, T, E)
            states, _ = self.rnn(inputs)                              # (B, T, H)
            previous = torch.cat([torch.zeros_like(states[:, :1]), states[:, :-1]], dim=1)
            rows = slice(self.config.hidden_size, 2 * self.config.hidden_size)
            pre = (inputs @ self.rnn.weight_ih_l0[rows].T + self.rnn.bias_ih_l0[rows]
                   + previous @ self.rnn.weight_hh_l0[rows].T + self.rnn.bias_hh_l0[rows])
            return torch.sigmoid(pre)


@dataclass(kw_only=True)
class AttentionClassifierConfig:
    """Sizes of an :class:`AttentionClassifier`."""

    vocab_size: int
    num_classes: int
    d_model: int = 32
    num_heads: int = 2
    max_len: int = 512

    def __post_init__(self) -> None:
        check_positive_ints(self, "vocab_size", "num_classes", "d_model", "num_heads", "max_len")
        check_divisible(self, "d_model", "num_heads")


class AttentionClassifier(nn.Module):
    """Embedding -> one multi-head attention layer, queried from the last position -> logits.

    The last position attends to every position at once, so the path from the first token
    to the output has length 1 whatever ``T`` is. Attention by itself ignores order, so a
    learned embedding of each position is added to each token's (as in GPT; lessons 05
    and 07 compare positional encodings). Uses :class:`course_lib.attention.MultiHeadAttention`
    and :class:`course_lib.attention.positions.LearnedPositionalEmbedding`.

    Built from an :class:`AttentionClassifierConfig`. forward(x (B, T) ids) -> logits (B, C).
    """

    def __init__(self, config: AttentionClassifierConfig) -> None:
        super().__init__()
        self.config = config
        vocab_size, num_classes, d_model = config.vocab_size, config.num_classes, config.d_model
        num_heads, max_len = config.num_heads, config.max_len
        self.max_len = max_len
        self.embed = nn.Embedding(vocab_size, d_model)
        self.position = LearnedPositionalEmbedding(max_len, d_model)
        # Token embeddings start as N(0, 1); positions on the same scale are visible to the
        # attention scores from the first step (GPT-2's 0.02 made this task learn slowly).
        nn.init.normal_(self.position.embedding.weight, std=1.0)
        self.attention = MultiHeadAttention(d_model, num_heads)
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T)`` token ids, ``T <= max_len`` -> logits ``(B, C)``."""
        if x.dim() != 2 or x.shape[1] > self.max_len:
            raise ValueError(f"x: expected shape (B, T) with T <= {self.max_len}, "
                             f"got {tuple(x.shape)}")
        tokens = self.position(self.embed(x))  # (B, T, D) token + position
        query = tokens[:, -1:]  # (B, 1, D): only the last position's output is needed
        context, _ = self.attention(query, tokens, tokens)
        return self.head(query[:, 0] + context[:, 0])  # residual, as in a Transformer block


# --- gradient clipping --------------------------------------------------------------------


def clip_by_global_norm(grads: list[torch.Tensor],
                        max_norm: float) -> tuple[list[torch.Tensor], float]:
    """Scale all gradients by ``min(1, max_norm / total_norm)``; returns (clipped, total_norm).

    The same rule as ``torch.nn.utils.clip_grad_norm_`` (without its tiny epsilon): the
    direction is kept, only the step length is capped.
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm: expected > 0, got {max_norm}")
    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads], total


@dataclass(kw_only=True)
class AddingRegressorConfig:
    """Sizes of an :class:`AddingRegressor`. With ``spectral_radius`` the recurrent matrix
    is replaced by :func:`matrix_with_spectral_radius` drawn from ``matrix_seed``."""

    hidden_size: int = 32
    spectral_radius: float | None = None
    matrix_seed: int = 0

    def __post_init__(self) -> None:
        check_positive_ints(self, "hidden_size")
        if self.spectral_radius is not None and self.spectral_radius <= 0:
            raise ValueError(f"spectral_radius: expected > 0, got {self.spectral_radius}")


class AddingRegressor(nn.Module):
    """Vanilla tanh RNN -> last state -> one number, for the adding problem.

    Built from an :class:`AddingRegressorConfig`. forward(x (B, T, 2)) -> (B,).
    """

    def __init__(self, config: AddingRegressorConfig) -> None:
        super().__init__()
        self.config = config
        hidden_size = config.hidden_size
        self.rnn = nn.RNN(2, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)
        if config.spectral_radius is not None:
            w = matrix_with_spectral_radius(hidden_size, config.spectral_radius,
                                            seed=config.matrix_seed)
            with torch.no_grad():
                self.rnn.weight_hh_l0.copy_(torch.as_tensor(w.T, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T, 2)`` -> predicted sums ``(B,)``."""
        states, _ = self.rnn(x)
        return self.head(states[:, -1]).squeeze(-1)
