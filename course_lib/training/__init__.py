"""Training and using models: the loop (seeded, with a progress bar), losses and metrics,
learning-rate schedules, the language-model loss, recipes, decoding and sampling, checkpoints.

Modules: ``loop`` (``train``, ``random_batches``, ``seeded``, ``evaluating``,
``count_parameters``), ``losses``, ``schedules``, ``language_model`` (``lm_loss``,
``evaluate_loss``, ``loss_by_position``), ``recipes`` (lesson 06's ``LMRecipe`` and
``train_lm``), ``seq2seq`` (teacher forcing, lesson 05's ``fit_seq2seq``, decoding into ids,
``exact_match``), ``decoding`` (greedy, beam search), ``sampling`` (temperature, top-k,
top-p, ``generate``), ``checkpoint`` (save and load any course model).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["loop", "losses", "schedules", "language_model", "recipes", "seq2seq",
               "decoding", "sampling", "checkpoint"]
_NAMES = {
    **dict.fromkeys(["train", "random_batches", "seeded", "evaluating", "evaluate",
                     "count_parameters", "TrainHistory"], "loop"),
    **dict.fromkeys(["lm_loss", "evaluate_loss", "loss_by_position"], "language_model"),
    "generate": "sampling",
    **dict.fromkeys(["LMRecipe", "train_lm"], "recipes"),
    **dict.fromkeys(["teacher_forcing_loss", "fit_seq2seq", "exact_match"], "seq2seq"),
    **dict.fromkeys(["save_checkpoint", "load_checkpoint"], "checkpoint"),
}
__all__ = [*_SUBMODULES, *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, _NAMES)
