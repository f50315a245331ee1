"""A short history of AI, run as code (lesson 01).

* :data:`MILESTONES`: dated milestones with people, school (symbolic or connectionist),
  era and the primary source each date is checked against.
* From scratch in NumPy: a McCulloch-Pitts unit (1943), Rosenblatt's perceptron (1958),
  and a two-layer network trained by backpropagation with hand-written gradients, checked
  against finite differences.
* Symbolic vs learned: a hand-written rule system against a learned classifier on generated
  review sentences.
* Data and model size as fuel: a small torch MLP on two interleaved spirals.

Shapes: N examples, F input features, H hidden units.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = [
    "ERAS", "SCHOOLS", "Milestone", "era_of", "MILESTONES", "milestones_table",
    "markdown_table", "mcculloch_pitts", "BINARY_INPUTS", "GATES", "perceptron_predict",
    "perceptron_update", "train_perceptron", "best_linear_accuracy", "init_mlp", "sigmoid",
    "mlp_forward", "binary_cross_entropy", "mlp_backward", "numerical_gradient",
    "relative_error", "mlp_gradient_check", "train_mlp", "mlp_accuracy",
    "collapse_linear_layers", "POSITIVE_WORDS", "NEGATIVE_WORDS", "NEGATORS",
    "review_sentences", "rule_based_sentiment", "bag_of_words", "review_vocabulary",
    "two_spirals", "make_mlp", "fit_classifier",
]


# --- milestones ---------------------------------------------------------------------------

ERAS: tuple[tuple[str, int, int], ...] = (
    ("early AI", 1940, 1979),
    ("machine learning", 1980, 2009),
    ("deep learning", 2010, 2019),
    ("large language models", 2020, 2030),
)
"""(name, first year, last year) of the lecture's four eras; the last is open-ended."""

SCHOOLS = ("symbolic", "connectionist", "foundations")
"""``foundations``: neither school; a question, a data set or a tool both draw on."""


@dataclass(frozen=True)
class Milestone:
    """One dated event, with the primary source that dates it."""

    year: int
    label: str  # a few words, for the timeline plot
    event: str
    people: str
    school: str
    source: str

    @property
    def era(self) -> str:
        return era_of(self.year)


def era_of(year: int) -> str:
    """The lecture's era of a year: early AI (to 1979), machine learning (1980-2009),
    deep learning (2010-2019), large language models (2020 on)."""
    if year < ERAS[0][1]:
        raise ValueError(f"year: expected {ERAS[0][1]} or later, got {year}")
    for name, _, last in ERAS[:-1]:
        if year <= last:
            return name
    return ERAS[-1][0]


MILESTONES: tuple[Milestone, ...] = (
    Milestone(1943, 'McCulloch-Pitts neuron',
              "McCulloch-Pitts neuron: networks of threshold units compute logic",
              "Warren McCulloch, Walter Pitts", "connectionist",
              "McCulloch & Pitts (1943), A logical calculus of the ideas immanent in nervous "
              "activity, Bull. Math. Biophysics 5:115-133"),
    Milestone(1950, "Turing's question",
              "Turing asks 'Can machines think?' and proposes the imitation game",
              "Alan Turing", "foundations",
              "Turing (1950), Computing machinery and intelligence, Mind 59(236):433-460"),
    Milestone(1956, 'Dartmouth workshop',
              "Dartmouth summer workshop; the proposal (Aug 1955) names "
              "'artificial intelligence'",
              "John McCarthy, Marvin Minsky, Nathaniel Rochester, Claude Shannon", "symbolic",
              "McCarthy, Minsky, Rochester & Shannon (1955), A proposal for the Dartmouth "
              "summer research project on artificial intelligence"),
    Milestone(1956, 'Logic Theorist',
              "Logic Theorist proves theorems of Principia Mathematica",
              "Allen Newell, Herbert Simon, Cliff Shaw", "symbolic",
              "Newell & Simon (1956), The logic theory machine: a complex information "
              "processing system, IRE Trans. Information Theory 2(3):61-79"),
    Milestone(1958, 'Perceptron',
              "Perceptron: a neuron-like unit that learns its weights from examples",
              "Frank Rosenblatt", "connectionist",
              "Rosenblatt (1958), The perceptron: a probabilistic model for information "
              "storage and organization in the brain, Psychological Review 65(6):386-408"),
    Milestone(1969, "'Perceptrons' book",
              "'Perceptrons': one trained layer over local (bounded-order) features cannot "
              "compute parity or connectedness, and one unit cannot compute XOR; often "
              "blamed for a decline of neural-network research",
              "Marvin Minsky, Seymour Papert", "symbolic",
              "Minsky & Papert (1969), Perceptrons: An Introduction to Computational "
              "Geometry, MIT Press"),
    Milestone(1970, 'Reverse-mode AD',
              "Reverse-mode automatic differentiation (the algorithm behind backprop)",
              "Seppo Linnainmaa", "connectionist",
              "Linnainmaa (1970), The representation of the cumulative rounding error of an "
              "algorithm as a Taylor expansion of the local rounding errors, MSc thesis (in "
              "Finnish), University of Helsinki"),
    Milestone(1974, 'Werbos: backprop',
              "Backpropagation proposed for training adaptive models",
              "Paul Werbos", "connectionist",
              "Werbos (1974), Beyond Regression: New Tools for Prediction and Analysis in "
              "the Behavioral Sciences, PhD thesis, Harvard University"),
    Milestone(1976, 'MYCIN',
              "MYCIN: an expert system of hundreds of if-then rules diagnoses infections",
              "Edward Shortliffe", "symbolic",
              "Shortliffe (1976), Computer-Based Medical Consultations: MYCIN, Elsevier"),
    Milestone(1980, 'Neocognitron',
              "Neocognitron: convolution-like layers with shared weights and pooling",
              "Kunihiko Fukushima", "connectionist",
              "Fukushima (1980), Neocognitron: a self-organizing neural network model for a "
              "mechanism of pattern recognition unaffected by shift in position, "
              "Biological Cybernetics 36:193-202"),
    Milestone(1982, 'R1/XCON',
              "R1/XCON configures DEC VAX orders with hundreds (later thousands) of rules",
              "John McDermott", "symbolic",
              "McDermott (1982), R1: a rule-based configurer of computer systems, "
              "Artificial Intelligence 19(1):39-88"),
    Milestone(1986, 'Backprop popularised',
              "Backpropagation popularised: hidden layers learn representations",
              "David Rumelhart, Geoffrey Hinton, Ronald Williams", "connectionist",
              "Rumelhart, Hinton & Williams (1986), Learning representations by "
              "back-propagating errors, Nature 323:533-536"),
    Milestone(1989, 'LeNet',
              "A convolutional network trained by backprop reads zip codes (LeNet)",
              "Yann LeCun et al.", "connectionist",
              "LeCun et al. (1989), Backpropagation applied to handwritten zip code "
              "recognition, Neural Computation 1(4):541-551"),
    Milestone(1997, 'LSTM',
              "LSTM: gated memory cells carry information over long time lags",
              "Sepp Hochreiter, Jurgen Schmidhuber", "connectionist",
              "Hochreiter & Schmidhuber (1997), Long short-term memory, Neural Computation "
              "9(8):1735-1780"),
    Milestone(1997, 'Deep Blue',
              "Deep Blue beats world chess champion Kasparov by search",
              "Murray Campbell, A. Joseph Hoane, Feng-hsiung Hsu (IBM)", "symbolic",
              "Campbell, Hoane & Hsu (2002), Deep Blue, Artificial Intelligence "
              "134(1-2):57-83 (describes the system of the May 1997 match)"),
    Milestone(2009, 'ImageNet',
              "ImageNet: millions of labelled images in thousands of categories",
              "Jia Deng, Wei Dong, Richard Socher, Li-Jia Li, Kai Li, Li Fei-Fei",
              "foundations",
              "Deng et al. (2009), ImageNet: a large-scale hierarchical image database, "
              "CVPR 2009"),
    Milestone(2012, 'AlexNet',
              "AlexNet, trained on two GPUs, wins the ImageNet 2012 challenge by a wide margin",
              "Alex Krizhevsky, Ilya Sutskever, Geoffrey Hinton", "connectionist",
              "Krizhevsky, Sutskever & Hinton (2012), ImageNet classification with deep "
              "convolutional neural networks, NeurIPS 2012"),
    Milestone(2014, 'Seq2seq',
              "Sequence to sequence learning: an LSTM encoder-decoder translates",
              "Ilya Sutskever, Oriol Vinyals, Quoc Le", "connectionist",
              "Sutskever, Vinyals & Le (2014), Sequence to sequence learning with neural "
              "networks, NeurIPS 2014"),
    Milestone(2014, 'Attention',
              "Attention: the decoder learns to align with (look back at) the source",
              "Dzmitry Bahdanau, Kyunghyun Cho, Yoshua Bengio", "connectionist",
              "Bahdanau, Cho & Bengio (2014), Neural machine translation by jointly learning "
              "to align and translate, arXiv:1409.0473 (ICLR 2015)"),
    Milestone(2017, 'Transformer',
              "The Transformer: attention without recurrence",
              "Ashish Vaswani et al.", "connectionist",
              "Vaswani et al. (2017), Attention is all you need, NeurIPS 2017"),
    Milestone(2019, 'PyTorch',
              "PyTorch paper: the imperative GPU deep-learning framework (first released 2017)",
              "Adam Paszke et al.", "foundations",
              "Paszke et al. (2019), PyTorch: an imperative style, high-performance deep "
              "learning library, NeurIPS 2019"),
    Milestone(2020, 'Scaling laws',
              "Scaling laws: loss falls as a power law in parameters, data, compute",
              "Jared Kaplan et al.", "connectionist",
              "Kaplan et al. (2020), Scaling laws for neural language models, "
              "arXiv:2001.08361"),
    Milestone(2020, 'GPT-3',
              "GPT-3 (175B parameters) learns tasks from a few examples in the prompt",
              "Tom Brown et al.", "connectionist",
              "Brown et al. (2020), Language models are few-shot learners, NeurIPS 2020"),
    Milestone(2022, 'Chain-of-thought',
              "Chain-of-thought prompting: worked steps in the prompt help reasoning",
              "Jason Wei et al.", "connectionist",
              "Wei et al. (2022), Chain-of-thought prompting elicits reasoning in large "
              "language models, NeurIPS 2022"),
    Milestone(2022, 'ChatGPT',
              "ChatGPT released (30 Nov), tuned with human feedback like InstructGPT",
              "OpenAI", "connectionist",
              "OpenAI (2022), Introducing ChatGPT (blog post, 30 November 2022); Ouyang et "
              "al. (2022), Training language models to follow instructions with human "
              "feedback, NeurIPS 2022"),
    Milestone(2023, 'GPT-4 (multimodal)',
              "GPT-4 accepts images as well as text (multimodal)",
              "OpenAI", "connectionist",
              "OpenAI (2023), GPT-4 technical report, arXiv:2303.08774"),
)


def milestones_table(milestones: tuple[Milestone, ...] = MILESTONES) -> list[dict[str, str]]:
    """Rows (year, era, school, event, people, source) for display, oldest first."""
    return [{"year": str(m.year), "era": m.era, "school": m.school, "event": m.event,
             "people": m.people, "source": m.source}
            for m in sorted(milestones, key=lambda m: m.year)]


def markdown_table(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """A markdown table of ``rows`` restricted to ``columns`` (for ``IPython.display``)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[c].replace("|", "/") for c in columns) + " |" for row in rows]
    return "\n".join(lines)


# --- the McCulloch-Pitts unit -------------------------------------------------------------


def mcculloch_pitts(x: np.ndarray, excitatory: np.ndarray, inhibitory: np.ndarray,
                    threshold: int) -> np.ndarray:
    """A McCulloch-Pitts (1943) unit on binary inputs x (N, F) -> binary output (N,).

    It fires (1) when no inhibitory input is active (any active one vetoes, as in the
    1943 paper) and the number of active excitatory inputs reaches ``threshold``. Nothing
    is learned: the wiring and threshold are chosen by hand. ``excitatory`` and
    ``inhibitory`` are boolean masks of shape (F,).
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != len(excitatory) or len(inhibitory) != len(excitatory):
        raise ValueError(f"x: expected shape (N, {len(excitatory)}) matching the masks, "
                         f"got {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("x: expected binary inputs (0 or 1)")
    vetoed = (x[:, np.asarray(inhibitory, bool)] == 1).any(axis=1)
    excitation = x[:, np.asarray(excitatory, bool)].sum(axis=1)
    return ((excitation >= threshold) & ~vetoed).astype(int)


# --- Rosenblatt's perceptron --------------------------------------------------------------

BINARY_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
"""The four inputs (4, 2) of a two-input logic gate."""

GATES = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}
"""Targets (4,) for :data:`BINARY_INPUTS`."""


def perceptron_predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Step function of an affine score: X (N, F), w (F,) -> predictions (N,) in {0, 1}."""
    return (X @ w + b > 0).astype(int)


def perceptron_update(w: np.ndarray, b: float, x: np.ndarray, y: int,
                      lr: float = 1.0) -> tuple[np.ndarray, float]:
    """Rosenblatt's rule for one example x (F,), target y in {0, 1}.

    ``error = y - prediction`` is 0 when the prediction is right (no change), +1 or -1 when
    wrong; then ``w += lr * error * x`` and ``b += lr * error``.
    """
    error = y - int(x @ w + b > 0)
    return w + lr * error * x, b + lr * error


def train_perceptron(X: np.ndarray, y: np.ndarray, *, epochs: int = 20, lr: float = 1.0
                     ) -> tuple[np.ndarray, float, list[int]]:
    """Cycle through the examples in order ``epochs`` times, applying :func:`perceptron_update`.

    Returns ``(w, b, mistakes per epoch)``. On linearly separable data the mistakes reach 0
    (Rosenblatt's convergence theorem); on XOR they never do.
    """
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"y: expected shape ({X.shape[0]},) for X of shape {X.shape}, "
                         f"got {y.shape}")
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes = []
    for _ in range(epochs):
        wrong = 0
        for x_i, y_i in zip(X, y, strict=True):
            wrong += int(perceptron_predict(x_i[None], w, b)[0] != y_i)
            w, b = perceptron_update(w, b, x_i, int(y_i), lr)
        mistakes.append(wrong)
    return w, b, mistakes


def best_linear_accuracy(X: np.ndarray, y: np.ndarray, num_angles: int = 360) -> float:
    """The best accuracy any line ``w . x + b > 0`` reaches on (X, y), by brute force.

    Tries ``num_angles`` directions and every threshold between projected points. On XOR it
    is 0.75: no line separates the four points (Minsky & Papert, 1969).
    """
    best = 0.0
    for angle in np.linspace(0, 2 * np.pi, num_angles, endpoint=False):
        w = np.array([np.cos(angle), np.sin(angle)])
        projected = X @ w
        cuts = np.concatenate([[projected.min() - 1], np.sort(projected) + 1e-9])
        for cut in cuts:
            best = max(best, float(np.mean((projected > cut).astype(int) == y)))
    return best


# --- a two-layer network and backpropagation ----------------------------------------------

MLPParams = dict[str, np.ndarray]


def init_mlp(num_inputs: int, num_hidden: int, *, seed: int = 0, scale: float = 1.0
             ) -> MLPParams:
    """``{"W1": (F, H), "b1": (H,), "W2": (H, 1), "b2": (1,)}``, Gaussian weights."""
    rng = np.random.default_rng(seed)
    return {"W1": scale * rng.standard_normal((num_inputs, num_hidden)),
            "b1": np.zeros(num_hidden),
            "W2": scale * rng.standard_normal((num_hidden, 1)) / math.sqrt(num_hidden),
            "b2": np.zeros(1)}


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    e = np.exp(-np.abs(z))  # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def mlp_forward(X: np.ndarray, params: MLPParams, activation: str = "tanh"
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """X (N, F) -> probabilities p (N,) and a cache for :func:`mlp_backward`.

    ``h = act(X W1 + b1)`` (N, H); ``p = sigmoid(h W2 + b2)``. ``activation`` is ``"tanh"``
    or ``"identity"`` (two stacked linear maps: still one linear map).
    """
    if activation not in ("tanh", "identity"):
        raise ValueError(f"activation: expected 'tanh' or 'identity', got {activation!r}")
    if X.ndim != 2 or X.shape[1] != params["W1"].shape[0]:
        raise ValueError(f"X: expected shape (N, {params['W1'].shape[0]}), got {X.shape}")
    a = X @ params["W1"] + params["b1"]
    h = np.tanh(a) if activation == "tanh" else a
    p = sigmoid(h @ params["W2"] + params["b2"])[:, 0]
    return p, {"X": X, "h": h, "p": p, "activation": np.array(activation)}


def binary_cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    """Mean of ``-[y log p + (1 - y) log(1 - p)]``, clipped away from log(0)."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def mlp_backward(y: np.ndarray, params: MLPParams, cache: dict[str, np.ndarray]) -> MLPParams:
    """Gradients of the mean binary cross-entropy with respect to every parameter.

    Chain rule from the output back: for sigmoid + cross-entropy, dL/dz = (p - y) / N;
    then through W2, through the activation (tanh' = 1 - h^2), through W1.
    """
    X, h, p = cache["X"], cache["h"], cache["p"]
    n = X.shape[0]
    dz = ((p - y) / n)[:, None]  # (N, 1)
    dh = dz @ params["W2"].T  # (N, H)
    da = dh * (1.0 - h ** 2) if str(cache["activation"]) == "tanh" else dh
    return {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar ``f()`` with respect to ``array``.

    ``array`` is perturbed in place, one entry at a time, and restored.
    """
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = f()
        array[index] = saved - eps
        minus = f()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(max|a|, max|b|)``: the usual gradient-check measure."""
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(a - b)) / scale)


def mlp_gradient_check(X: np.ndarray, y: np.ndarray, params: MLPParams,
                       activation: str = "tanh") -> dict[str, float]:
    """Relative error between :func:`mlp_backward` and finite differences, per parameter."""
    def loss() -> float:
        return binary_cross_entropy(mlp_forward(X, params, activation)[0], y)

    _, cache = mlp_forward(X, params, activation)
    analytic = mlp_backward(y, params, cache)
    return {name: relative_error(analytic[name], numerical_gradient(loss, params[name]))
            for name in params}


def train_mlp(X: np.ndarray, y: np.ndarray, *, num_hidden: int = 4, epochs: int = 2000,
              lr: float = 1.0, activation: str = "tanh", seed: int = 0
              ) -> tuple[MLPParams, list[float]]:
    """Full-batch gradient descent with :func:`mlp_backward`; returns (params, losses)."""
    params = init_mlp(X.shape[1], num_hidden, seed=seed)
    losses = []
    for _ in range(epochs):
        p, cache = mlp_forward(X, params, activation)
        losses.append(binary_cross_entropy(p, y))
        grads = mlp_backward(y, params, cache)
        for name in params:
            params[name] -= lr * grads[name]
    return params, losses


def mlp_accuracy(X: np.ndarray, y: np.ndarray, params: MLPParams,
                 activation: str = "tanh") -> float:
    """Share of examples where ``p > 0.5`` matches ``y``."""
    return float(np.mean((mlp_forward(X, params, activation)[0] > 0.5) == y))


def collapse_linear_layers(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The single linear layer equal to two stacked ones: ``(x W1 + b1) W2 + b2 = x W + b``
    with ``W = W1 W2`` and ``b = b1 W2 + b2``."""
    return W1 @ W2, b1 @ W2 + b2


# --- symbolic rules vs a learned classifier -----------------------------------------------

POSITIVE_WORDS = ("good", "great", "fun", "tasty", "friendly")
NEGATIVE_WORDS = ("bad", "boring", "awful", "cold", "rude")
NEGATORS = ("not", "never", "hardly")
_SUBJECTS = ("the film", "the food", "the service", "the book", "the hotel")
_INTENSIFIERS = ("", "very", "really")


def review_sentences(num_examples: int, *, seed: int = 0,
                     negators: tuple[str, ...] = NEGATORS) -> tuple[list[str], np.ndarray]:
    """Generated one-clause reviews such as "the food was not very tasty" and labels (N,).

    Label 1 (positive) when the adjective is positive and not negated, or negative and
    negated. About half the sentences are negated, evenly by each of ``negators``.
    """
    rng = np.random.default_rng(seed)
    sentences, labels = [], []
    for _ in range(num_examples):
        positive = bool(rng.integers(2))
        adjective = rng.choice(POSITIVE_WORDS if positive else NEGATIVE_WORDS)
        negated = bool(rng.integers(2))
        words = [str(rng.choice(_SUBJECTS)), "was"]
        if negated:
            words.append(str(rng.choice(negators)))
        words += [str(rng.choice(_INTENSIFIERS)), str(adjective)]
        sentences.append(" ".join(w for w in words if w))
        labels.append(int(positive != negated))
    return sentences, np.array(labels)


def rule_based_sentiment(sentence: str) -> int:
    """An expert's hand-written rules, in the spirit of an expert system.

    Rule 1: a positive keyword votes +1, a negative keyword -1.
    Rule 2: "not" flips the vote (the expert thought of "not"; who thinks of everything?).
    Returns 1 (positive) when the vote is > 0, else 0.
    """
    words = sentence.split()
    vote = sum((w in POSITIVE_WORDS) - (w in NEGATIVE_WORDS) for w in words)
    if "not" in words:
        vote = -vote
    return int(vote > 0)


def bag_of_words(sentences: list[str], vocabulary: list[str]) -> np.ndarray:
    """Binary features (N, len(vocabulary)): 1 where the word occurs in the sentence."""
    index = {word: i for i, word in enumerate(vocabulary)}
    features = np.zeros((len(sentences), len(vocabulary)))
    for row, sentence in enumerate(sentences):
        for word in sentence.split():
            if word in index:
                features[row, index[word]] = 1.0
    return features


def review_vocabulary() -> list[str]:
    """Every word :func:`review_sentences` can produce, sorted."""
    words = {"was", *POSITIVE_WORDS, *NEGATIVE_WORDS, *NEGATORS, *_INTENSIFIERS}
    words.update(w for subject in _SUBJECTS for w in subject.split())
    return sorted(w for w in words if w)


# --- data and model size as fuel ----------------------------------------------------------


def two_spirals(num_examples: int, *, noise: float = 0.3, turns: float = 1.5,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved spirals in the plane: x (N, 2) float, y (N,) labels in {0, 1}."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (num_examples,), generator=generator)
    radius = torch.rand(num_examples, generator=generator)
    angle = radius * turns * 2 * math.pi + math.pi * y
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1) * 3
    return x + noise * torch.randn(num_examples, 2, generator=generator) * radius[:, None], y


def make_mlp(width: int, depth: int = 2, num_inputs: int = 2, num_classes: int = 2) -> nn.Module:
    """A ReLU MLP with ``depth`` hidden layers of ``width`` units."""
    layers: list[nn.Module] = []
    size = num_inputs
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, num_classes))


def fit_classifier(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                   y_test: torch.Tensor, *, width: int = 32, steps: int = 300, lr: float = 1e-2,
                   seed: int = 0, progress: bool = False) -> float:
    """Train :func:`make_mlp` full-batch with course_lib.train; return test accuracy."""
    from course_lib.train import train

    torch.manual_seed(seed)
    model = make_mlp(width)

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    train(model, [(x_train, y_train)], loss_fn, steps=steps, lr=lr,
          desc=f"n={len(x_train)}, width={width}", progress=progress)
    with torch.no_grad():
        return (model(x_test).argmax(-1) == y_test).float().mean().item()
