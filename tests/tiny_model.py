"""A tiny causal chat LM built from nothing, for fast tests that need a real model.

Real parts at toy size: a byte-level BPE tokenizer trained with `tokenizers` on the text below, the
ChatML template SmolLM2 uses (plus `{% generation %}` markers, so TRL's assistant-only loss works),
and a 2-layer Llama with random weights from a fixed seed. It loads with plain `from_pretrained`,
applies chat templates, generates, and trains with TRL, in well under a second on one CPU thread.
Its answers are gibberish, but deterministic gibberish: greedy output is a function of the prompt.
"""

from __future__ import annotations

from pathlib import Path

EOS = "<|im_end|>"
PAD = "<|endoftext|>"
SPECIAL_TOKENS = [PAD, "<|im_start|>", EOS]
VOCAB_SIZE = 384
SEED = 1234

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}"
    "{%- generation %}{{ message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{ '\n' }}"
    "{%- else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{%- endif %}"
)

TRAINING_TEXT = """\
system
You are a helpful assistant. Answer briefly and truthfully.
user
What is the capital of France? The capital of France is Paris.
assistant
Paris is the capital and largest city of France, on the river Seine.
user
Summarize this document in one sentence. Give three bullet points.
assistant
The report covers sales, support tickets, refunds and the new pricing plan.
Write a JSON object with the keys "name", "age" and "email": {"name": "Ada", "age": 36}.
Questions and answers, instructions and responses, tests and evaluations, training and tuning.
The quick brown fox jumps over the lazy dog. 0123456789 + - * / = ( ) [ ] { } < > ! ? , . ; :
Customers ask about orders, shipping, invoices, passwords, accounts and delivery dates.
Thank you! Hello, how can I help you today? Please try again later. Yes. No. Maybe.
"""


def build_tokenizer():  # -> PreTrainedTokenizerFast
    """Train a byte-level BPE on TRAINING_TEXT; any text round-trips (bytes are the fallback)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(TRAINING_TEXT.splitlines() * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=EOS,
        pad_token=PAD,
        chat_template=CHAT_TEMPLATE,
        model_max_length=1024,
    )


def build_tiny_model(folder: str | Path) -> Path:
    """Write the tiny model (weights, config, generation config, tokenizer) into `folder`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        initializer_range=0.2,  # spread-out logits: greedy picks are far from ties
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
