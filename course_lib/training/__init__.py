"""Training and using models: the loop (seeded, with a progress bar), losses and metrics,
learning-rate schedules, the language-model loss, decoding and sampling, checkpoints.

Modules: ``loop`` (``train``, ``random_batches``, ``seeded``, ``evaluating``,
``count_parameters``), ``losses``, ``schedules``, ``language_model`` (``lm_loss``,
``evaluate_loss``, ``loss_by_position``), ``decoding`` (greedy, beam search), ``sampling``
(temperature, top-k, top-p, ``generate``), ``checkpoint`` (save and load any course model).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["loop", "losses", "schedules", "language_model", "decoding", "sampling",
               "checkpoint"]
_NAMES = {
    **dict.fromkeys(["train", "random_batches", "seeded", "evaluating", "evaluate",
                     "count_parameters", "TrainHistory"], "loop"),
    **dict.fromkeys(["lm_loss", "evaluate_loss", "loss_by_position"], "language_model"),
    "generate": "sampling",
    **dict.fromkeys(["save_checkpoint", "load_checkpoint"], "checkpoint"),
}
__all__ = [*_SUBMODULES, *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, _NAMES)
