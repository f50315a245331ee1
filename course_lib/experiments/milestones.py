"""The milestones of AI that lesson 01 tells, as data: dated events with their people,
school (symbolic, connectionist or statistical learning), era and the primary source each date
is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ERAS", "SCHOOLS", "Milestone", "era_of", "MILESTONES", "milestones_table", "markdown_table",
]

ERAS: tuple[tuple[str, int, int], ...] = (
    ("early AI", 1940, 1979),
    ("machine learning", 1980, 2009),
    ("deep learning", 2010, 2019),
    ("large language models", 2020, 2030),
)
"""(name, first year, last year) of the lecture's four eras; the last is open-ended."""

SCHOOLS = ("symbolic", "connectionist", "statistical", "foundations")
"""``statistical``: statistical learning, the third tradition of the 1990s-2000s (kernel
machines, boosting, ensembles of trees): it learns from data like the connectionists, but from
convex objectives or ensembles of simple learners with guarantees from learning theory, not
from networks trained end to end. ``foundations``: no school; a question, a data set or a tool
they all draw on."""


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
              "Seppo Linnainmaa", "foundations",
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
              "Sepp Hochreiter, Jürgen Schmidhuber", "connectionist",
              "Hochreiter & Schmidhuber (1997), Long short-term memory, Neural Computation "
              "9(8):1735-1780"),
    Milestone(1995, 'Support-vector machines',
              "Support-vector networks: a maximum-margin classifier with kernels and a soft "
              "margin, trained by convex optimisation",
              "Corinna Cortes, Vladimir Vapnik", "statistical",
              "Cortes & Vapnik (1995), Support-vector networks, Machine Learning "
              "20(3):273-297"),
    Milestone(1997, 'Boosting (AdaBoost)',
              "AdaBoost: many weak classifiers, each trained on the examples the previous "
              "ones got wrong, vote",
              "Yoav Freund, Robert Schapire", "statistical",
              "Freund & Schapire (1997), A decision-theoretic generalization of on-line "
              "learning and an application to boosting, Journal of Computer and System "
              "Sciences 55(1):119-139"),
    Milestone(1997, 'Deep Blue',
              "Deep Blue beats world chess champion Kasparov by search",
              "Murray Campbell, A. Joseph Hoane, Feng-hsiung Hsu (IBM)", "symbolic",
              "Campbell, Hoane & Hsu (2002), Deep Blue, Artificial Intelligence "
              "134(1-2):57-83 (describes the system of the May 1997 match)"),
    Milestone(2001, 'Random forests',
              "Random forests: many decision trees on random resamples and random features "
              "vote",
              "Leo Breiman", "statistical",
              "Breiman (2001), Random forests, Machine Learning 45(1):5-32"),
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
