"""The cross-modal VQA model and its data: shapes, masks, direction of attention, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import shapes
from course_lib.models.vqa import CrossModalVQA, TextOnlyVQA, VQAConfig


@pytest.fixture(scope="module")
def data():
    return shapes.make_vqa_data(16, seed=3)


def config(data, **kw) -> VQAConfig:
    base = dict(image_size=12, patch_size=4, vocab_size=len(data.vocab),
                num_answers=len(shapes.ANSWERS), max_len=shapes.QUESTION_LENGTH,
                pad_id=data.pad_id, d_model=16, num_heads=2, d_ff=32)
    return VQAConfig(**{**base, **kw})


def test_data_is_seeded_and_consistent(data):
    again = shapes.make_vqa_data(16, seed=3)
    assert torch.equal(again.images, data.images) and again.question_texts == data.question_texts
    assert data.images.shape == (16, 3, 12, 12)
    assert data.questions.shape == (16, shapes.QUESTION_LENGTH)
    for i in range(16):
        words = data.question_texts[i].split()
        assert data.vocab.decode(data.questions[i]) == "".join(words)
        assert shapes.ANSWERS[data.answers[i]] == data.answer_texts[i]
        kind = "colour" if data.answer_texts[i] in shapes.COLOURS else "shape"
        assert words[1] == kind
        row, col = divmod(int(data.cells[i]), 3)
        assert words[-2:] == [shapes.ROWS[row], shapes.COLUMNS[col]]


def test_the_answer_is_in_the_asked_cell():
    data = shapes.make_vqa_data(50, seed=4, noise=0.0)
    for i in range(50):
        row, col = divmod(int(data.cells[i]), 3)
        cell = data.images[i, :, 4 * row:4 * row + 4, 4 * col:4 * col + 4]
        answer = data.answer_texts[i]
        if answer in shapes.COLOURS:
            colour = torch.tensor(shapes.COLOURS[answer])
            assert torch.equal(cell.amax(dim=(1, 2)), colour)
        else:
            assert torch.equal((cell.sum(0) > 0).float(), shapes.shape_pattern(answer, 4))


def test_shape_patterns_differ():
    patterns = [shapes.shape_pattern(name, 4) for name in shapes.SHAPES]
    assert all(not torch.equal(a, b) for i, a in enumerate(patterns) for b in patterns[i + 1:])
    with pytest.raises(ValueError, match="name: expected one of"):
        shapes.shape_pattern("circle", 4)


def test_data_errors():
    with pytest.raises(ValueError, match="num_examples"):
        shapes.make_vqa_data(0)
    with pytest.raises(ValueError, match="grid: expected 3"):
        shapes.make_vqa_data(2, grid=4)
    with pytest.raises(ValueError, match="min_objects, max_objects"):
        shapes.make_vqa_data(2, min_objects=4, max_objects=2)


def test_cross_attention_goes_from_words_to_patches(data):
    torch.manual_seed(0)
    model = CrossModalVQA(config(data)).eval()
    logits, weights = model(data.images, data.questions, need_weights=True)
    assert logits.shape == (16, len(shapes.ANSWERS))
    assert weights.shape == (16, 2, shapes.QUESTION_LENGTH, 9)  # (B, heads, words, patches)
    torch.testing.assert_close(weights.sum(-1), torch.ones(16, 2, shapes.QUESTION_LENGTH))
    torch.testing.assert_close(model(data.images, data.questions), logits)


def test_padding_words_do_not_change_the_answer(data):
    torch.manual_seed(0)
    model = CrossModalVQA(config(data)).eval()
    short = data.questions[:, :6]
    assert (short != data.pad_id).all(0).any()  # some questions use the short template
    i = int(torch.nonzero((data.questions[:, 6:] == data.pad_id).all(1))[0])
    with torch.no_grad():
        padded = model(data.images[i:i + 1], data.questions[i:i + 1])
        unpadded = model(data.images[i:i + 1], data.questions[i:i + 1, :6])
    torch.testing.assert_close(padded, unpadded, atol=1e-5, rtol=1e-5)


def test_the_image_matters_only_for_the_cross_modal_model(data):
    torch.manual_seed(0)
    cross, text = CrossModalVQA(config(data)).eval(), TextOnlyVQA(config(data)).eval()
    other = data.images.flip(0)
    with torch.no_grad():
        assert not torch.allclose(cross(data.images, data.questions),
                                  cross(other, data.questions))
        torch.testing.assert_close(text(data.images, data.questions),
                                   text(other, data.questions))


def test_both_models_train(data):
    for cls in (CrossModalVQA, TextOnlyVQA):
        torch.manual_seed(0)
        model = cls(config(data))
        F.cross_entropy(model(data.images, data.questions), data.answers).backward()
        assert all(p.grad is not None for p in model.parameters()), cls.__name__


def test_errors(data):
    with pytest.raises(ValueError, match="pad_id: expected an id"):
        config(data, pad_id=99)
    with pytest.raises(ValueError, match="patch_size: expected a divisor"):
        config(data, patch_size=5)
    model = CrossModalVQA(config(data))
    with pytest.raises(ValueError, match=r"images: expected shape \(B, 3, 12, 12\)"):
        model(data.images[:, :1], data.questions)
    with pytest.raises(ValueError, match="questions: expected integer ids"):
        model(data.images, data.questions.float())
    with pytest.raises(ValueError, match="questions: expected batch size 16"):
        model(data.images, data.questions[:3])


def test_checkpoint_rebuilds_the_vqa_model_from_its_config(data, tmp_path):
    from course_lib.training.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = CrossModalVQA(config(data)).eval()
    loaded = load_checkpoint(save_checkpoint(tmp_path / "vqa.pt", model, vocab=data.vocab)).model
    torch.testing.assert_close(loaded(data.images, data.questions),
                               model(data.images, data.questions))
