"""The models the lessons train, each a config dataclass plus an ``nn.Module``.

Modules: ``rnn`` (RNN from scratch, recurrent and attention classifiers; lesson 02),
``seq2seq`` (GRU encoder-decoder with additive attention; 02, 04), ``hard_attention``
(REINFORCE pointer; 03), ``story_reader`` (the coffee-shop reader; 03), ``transformer``
(encoder, decoder, seq2seq Transformer; 05), ``gpt`` (decoder-only LM; 06, 09),
``variant_lm`` (the LM with swappable attention and positions; 07), ``vit`` (Vision
Transformer; 08), ``vqa`` (text-to-patch cross-attention; 08), ``llama`` (RMSNorm, SwiGLU,
RoPE, GQA: the modern decoder block, and a loader for Hugging Face Llama weights; 10).
"""

from course_lib._lazy import lazy_exports

_SUBMODULES = ["rnn", "seq2seq", "hard_attention", "story_reader", "transformer", "gpt",
               "variant_lm", "vit", "vqa", "llama"]
_NAMES = {
    "Seq2Seq": "seq2seq", "Seq2SeqConfig": "seq2seq",
    "StoryReader": "story_reader", "StoryReaderConfig": "story_reader",
    "Transformer": "transformer", "TransformerConfig": "transformer",
    "Seq2SeqTransformer": "transformer", "Seq2SeqTransformerConfig": "transformer",
    "GPT": "gpt", "GPTConfig": "gpt",
    "VariantLM": "variant_lm", "VariantLMConfig": "variant_lm",
    "VisionTransformer": "vit", "ViTConfig": "vit",
    "Llama": "llama", "LlamaConfig": "llama",
    "CrossModalVQA": "vqa", "TextOnlyVQA": "vqa", "VQAConfig": "vqa",
}
__all__ = [*_SUBMODULES, *_NAMES]
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES, _NAMES)
