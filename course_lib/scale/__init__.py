"""Scale (lesson 09): what training memory is made of, data/tensor/pipeline parallelism,
data-parallel training on torch.distributed, int8 quantization, scaling-law sweeps and fits.

Modules: ``training_memory`` (arithmetic of weights, gradients, optimizer state,
activations), ``parallelism`` (schedules and drawings), ``distributed`` (DDP with gloo),
``quantize`` (int8 weights), ``scaling`` (model-size sweep, power-law fit).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["training_memory", "parallelism", "distributed", "quantize", "scaling"]
__all__ = list(_SUBMODULES)
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, {})
