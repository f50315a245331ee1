"""Lesson 01's library: milestones, McCulloch-Pitts, perceptron, MLP backprop, rules."""

import numpy as np
import pytest
import torch

from course_lib.data import toys
from course_lib.experiments import history as h
from course_lib.experiments import milestones


def test_milestones_are_complete_sorted_by_era_and_cite_their_year():
    assert len(milestones.MILESTONES) >= 20
    for m in milestones.MILESTONES:
        assert m.school in milestones.SCHOOLS, m
        assert m.label and m.event and m.people and m.source
        # the primary source names the year (Dartmouth: the 1955 proposal of the 1956 workshop)
        assert str(m.year) in m.source or (m.year == 1956 and "1955" in m.source), m
    years = {m.label: m.year for m in milestones.MILESTONES}
    assert years["Backprop popularised"] == 1986 and years["Werbos: backprop"] == 1974
    assert years["Reverse-mode AD"] == 1970 and years["Neocognitron"] == 1980
    assert years["LeNet"] == 1989 and years["LSTM"] == 1997 and years["Transformer"] == 2017
    assert {m.school for m in milestones.MILESTONES} == set(milestones.SCHOOLS)
    table = milestones.milestones_table()
    assert [int(r["year"]) for r in table] == sorted(m.year for m in milestones.MILESTONES)
    assert "| year | event |" in milestones.markdown_table(table, ("year", "event"))


@pytest.mark.parametrize(("year", "era"), [(1943, "early AI"), (1979, "early AI"),
                                           (1980, "machine learning"), (2009, "machine learning"),
                                           (2010, "deep learning"), (2019, "deep learning"),
                                           (2020, "large language models"),
                                           (2024, "large language models")])
def test_era_of_boundaries(year, era):
    assert milestones.era_of(year) == era


def test_era_of_rejects_years_before_the_first_era():
    with pytest.raises(ValueError, match="year: expected 1940 or later, got 1900"):
        milestones.era_of(1900)


def test_mcculloch_pitts_computes_and_or_and_not_with_a_veto():
    X = h.BINARY_INPUTS.astype(int)
    both = np.array([True, True])
    none = np.array([False, False])
    assert h.mcculloch_pitts(X, both, none, 2).tolist() == [0, 0, 0, 1]
    assert h.mcculloch_pitts(X, both, none, 1).tolist() == [0, 1, 1, 1]
    # x1 AND NOT x2: x2 is inhibitory, an absolute veto
    assert h.mcculloch_pitts(X, np.array([True, False]), np.array([False, True]),
                             1).tolist() == [0, 0, 1, 0]
    with pytest.raises(ValueError, match="x: expected binary inputs"):
        h.mcculloch_pitts(X * 2, both, none, 1)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\)"):
        h.mcculloch_pitts(X, np.ones(3, bool), np.zeros(3, bool), 1)


def test_perceptron_update_rule():
    w, b = h.perceptron_update(np.zeros(2), 0.0, np.array([1.0, 1.0]), 1, lr=0.5)
    assert w.tolist() == [0.5, 0.5] and b == 0.5  # missed a positive: move towards it
    w2, b2 = h.perceptron_update(w, b, np.array([1.0, 0.0]), 0, lr=0.5)
    assert w2.tolist() == [0.0, 0.5] and b2 == 0.0  # false positive: move away
    w3, b3 = h.perceptron_update(w2, b2, np.array([1.0, 0.0]), 0)
    assert w3.tolist() == w2.tolist() and b3 == b2  # right: no change


def test_perceptron_learns_and_or_but_not_xor():
    X = h.BINARY_INPUTS
    for gate in ("AND", "OR"):
        w, b, mistakes = h.train_perceptron(X, h.GATES[gate])
        assert (h.perceptron_predict(X, w, b) == h.GATES[gate]).all()
        assert mistakes[-1] == 0
    w, b, mistakes = h.train_perceptron(X, h.GATES["XOR"], epochs=50)
    assert np.mean(h.perceptron_predict(X, w, b) == h.GATES["XOR"]) <= 0.75
    assert min(mistakes) > 0
    assert h.best_linear_accuracy(X, h.GATES["XOR"]) == pytest.approx(0.75)
    assert h.best_linear_accuracy(X, h.GATES["AND"]) == 1.0


def test_mlp_backward_matches_finite_differences_and_torch_autograd():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((7, 3)), rng.integers(0, 2, 7).astype(float)
    params = h.init_mlp(3, 5, seed=1)
    for activation in ("tanh", "identity"):
        errors = h.mlp_gradient_check(X, y, params, activation)
        assert max(errors.values()) < 1e-6, errors
    # independent reference: torch autograd on the same network
    p, cache = h.mlp_forward(X, params)
    ours = h.mlp_backward(y, params, cache)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    logits = (torch.tanh(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"])[:, 0]
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(y)).backward()
    for name in params:
        np.testing.assert_allclose(ours[name], t[name].grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(p, torch.sigmoid(logits).detach().numpy(), atol=1e-12)


def test_mlp_solves_xor_and_a_linear_stack_does_not():
    X, y = h.BINARY_INPUTS, h.GATES["XOR"]
    params, losses = h.train_mlp(X, y, num_hidden=4, epochs=2000, lr=1.0, seed=0)
    assert h.mlp_accuracy(X, y, params) == 1.0 and losses[-1] < losses[0]
    linear, _ = h.train_mlp(X, y, num_hidden=4, epochs=2000, lr=0.5, activation="identity")
    assert h.mlp_accuracy(X, y, linear, "identity") <= 0.75


def test_two_linear_layers_collapse_to_one():
    rng = np.random.default_rng(2)
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in ((3, 5), (5,), (5, 2), (2,)))
    W, b = h.collapse_linear_layers(W1, b1, W2, b2)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose((x @ W1 + b1) @ W2 + b2, x @ W + b, atol=1e-12)


def test_sigmoid_is_stable_and_correct():
    z = np.array([-800.0, -1.0, 0.0, 2.0, 800.0])
    np.testing.assert_allclose(h.sigmoid(z), 1 / (1 + np.exp(-np.clip(z, -50, 50))), atol=1e-15)
    assert np.isfinite(h.sigmoid(z)).all()


def test_mlp_forward_validates_arguments():
    params = h.init_mlp(2, 3)
    with pytest.raises(ValueError, match=r"X: expected shape \(N, 2\), got \(4, 3\)"):
        h.mlp_forward(np.zeros((4, 3)), params)
    with pytest.raises(ValueError, match="activation: expected 'tanh' or 'identity'"):
        h.mlp_forward(np.zeros((4, 2)), params, "relu")


def test_rules_handle_not_but_miss_other_negators_while_a_learned_mlp_does_not():
    sentences, labels = toys.review_sentences(400, seed=0)
    rules = np.array([h.rule_based_sentiment(s) for s in sentences])
    plain = np.array(["not" in s.split() or not any(n in s.split() for n in toys.NEGATORS)
                      for s in sentences])
    assert (rules[plain] == labels[plain]).all()  # the rules are right where they apply
    assert (rules[~plain] != labels[~plain]).all()  # and wrong on "never"/"hardly"
    vocab = toys.review_vocabulary()
    X = toys.bag_of_words(sentences, vocab)
    assert X.shape == (400, len(vocab)) and set(np.unique(X)) == {0.0, 1.0}
    params, _ = h.train_mlp(X[:300], labels[:300], num_hidden=8, epochs=1500, lr=2.0)
    assert h.mlp_accuracy(X[300:], labels[300:], params) >= 0.95


def test_more_data_and_a_bigger_model_fit_spirals_better():
    x, y = toys.two_spirals(800, seed=0)
    x_test, y_test = x[600:], y[600:]
    assert x.shape == (800, 2) and set(y.tolist()) == {0, 1}
    small = h.fit_classifier(x[:16], y[:16], x_test, y_test, width=32, steps=150)
    large = h.fit_classifier(x[:600], y[:600], x_test, y_test, width=32, steps=150)
    assert large > small + 0.1, (small, large)
    narrow = h.fit_classifier(x[:600], y[:600], x_test, y_test, width=1, steps=150)
    assert large > narrow + 0.1, (narrow, large)


def test_spirals_posterior_is_the_generators_and_calibrated():
    x, y = toys.two_spirals(3000, seed=3)
    p = toys.two_spirals_posterior(x, grid=1000)
    assert p.shape == (3000,) and ((p >= 0) & (p <= 1)).all()
    # calibrated: the Bayes rule's accuracy matches the accuracy the posterior expects
    bayes = ((p > 0.5).long() == y).double().mean()
    expected = torch.maximum(p, 1 - p).mean()
    assert abs(bayes - expected) < 0.01 and bayes > 0.97, (bayes, expected)
    # a posterior of the wrong generator (fewer turns) is far worse: the test can fail
    wrong = toys.two_spirals_posterior(x, turns=1.0, grid=1000)
    assert ((wrong > 0.5).long() == y).double().mean() < bayes - 0.1
    # without noise the classes do not overlap: the ceiling is (almost) 1
    clean, clean_y = toys.two_spirals(2000, noise=0.05, seed=4)
    clean_p = toys.two_spirals_posterior(clean, noise=0.05, grid=1000)
    assert ((clean_p > 0.5).long() == clean_y).double().mean() > 0.995
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\), got \(3,\)"):
        toys.two_spirals_posterior(torch.zeros(3))
