"""Transformer models built from transformers' model classes and configs (no hub access:
weights come from the seeded initialisation), wrapped so that forward takes and returns
plain tensors."""

from __future__ import annotations

import torch
from torch import nn

from .._recipe import InputSpec, Recipe, SizeConfig

SMOKE_VOCAB = 128
# The TorchScript exporter writes scaled_dot_product_attention from opset 14 on.
_FIRST_SDPA_OPSET = 14


class _Transformers(nn.Module):
    """A transformers model behind a plain-tensor forward."""

    def prepare_export(self, exporter: str, opset: int) -> dict:
        """Switches to transformers' eager attention (the same math as matmuls and a softmax)
        where the exporter cannot write SDPA; returns what changed, for the manifest."""
        if exporter == "torchscript" and opset < _FIRST_SDPA_OPSET:
            for m in self.modules():
                if hasattr(m, "set_attn_implementation"):
                    m.set_attn_implementation("eager")
                    return {"attention": f"eager (the TorchScript exporter writes SDPA from opset {_FIRST_SDPA_OPSET})"}
        return {}


class _Encoder(_Transformers):
    """BERT / DistilBERT: token ids and attention mask -> last hidden state (and BERT's pooler)."""

    def __init__(self, kind: str, **config):
        super().__init__()
        import transformers

        if kind == "bert":
            self.model = transformers.BertModel(transformers.BertConfig(**config))
        else:
            self.model = transformers.DistilBertModel(transformers.DistilBertConfig(**config))
        self.kind = kind

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        if self.kind == "bert":
            return out.last_hidden_state, out.pooler_output
        return out.last_hidden_state


class _GPT2(_Transformers):
    """GPT-2 language model head: token ids and attention mask -> next-token logits."""

    def __init__(self, **config):
        super().__init__()
        import transformers

        self.model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**config))

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits


class _GPT2WithPast(_Transformers):
    """GPT-2 decoding step with a key/value cache: token ids, the mask over past and new
    positions, and the cache stacked as [layer, key|value, batch, head, past, head_dim] ->
    logits and the extended cache in the same layout."""

    def __init__(self, **config):
        super().__init__()
        import transformers

        self.model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**config))
        self.layers = self.model.config.n_layer

    def forward(self, input_ids, attention_mask, past_key_values):
        from transformers import DynamicCache

        cache = DynamicCache()
        for i in range(self.layers):
            cache.update(past_key_values[i, 0], past_key_values[i, 1], i)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                         use_cache=True)
        present = torch.stack([torch.stack([layer.keys, layer.values]) for layer in out.past_key_values.layers])
        return out.logits, present


class _T5(_Transformers):
    """T5 encoder-decoder: source ids and mask, decoder ids -> decoder logits."""

    def __init__(self, **config):
        super().__init__()
        import transformers

        self.model = transformers.T5ForConditionalGeneration(transformers.T5Config(**config))

    def forward(self, input_ids, attention_mask, decoder_input_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          decoder_input_ids=decoder_input_ids, use_cache=False).logits


class _WhisperEncoder(_Transformers):
    """Whisper's audio encoder: log-mel frames -> encoder hidden states."""

    def __init__(self, **config):
        super().__init__()
        import transformers

        self.encoder = transformers.WhisperModel(transformers.WhisperConfig(**config)).get_encoder()

    def forward(self, input_features):
        return self.encoder(input_features=input_features).last_hidden_state


def _tokens(vocab):
    return (InputSpec("input_ids", ("batch", "seq"), "tokens", high=vocab),
            InputSpec("attention_mask", ("batch", "seq"), "mask"))


_BERT_SMOKE = dict(vocab_size=SMOKE_VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=64, max_position_embeddings=64)

RECIPES = [
    Recipe("bert_base", "text", "BERT-base encoder with attention mask (transformers' BertModel)",
           lambda **c: _Encoder("bert", **c), _tokens(30522), ("last_hidden_state", "pooler_output"),
           {"full": SizeConfig({}, seq_lens=(128, 64)),
            "smoke": SizeConfig({**_BERT_SMOKE, "vocab_size": 30522}, seq_lens=(7, 16))}),
    Recipe("distilbert", "text", "DistilBERT encoder with attention mask (transformers' DistilBertModel)",
           lambda **c: _Encoder("distilbert", **c), _tokens(30522), ("last_hidden_state",),
           {"full": SizeConfig({}, seq_lens=(128, 64)),
            "smoke": SizeConfig({"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64,
                                 "max_position_embeddings": 64}, seq_lens=(7, 16))}),
    Recipe("gpt2", "text", "GPT-2 small language model, causal attention (transformers' GPT2LMHeadModel)",
           _GPT2, _tokens(50257), ("logits",),
           {"full": SizeConfig({}, seq_lens=(128, 64)),
            "smoke": SizeConfig({"vocab_size": 50257, "n_embd": 32, "n_layer": 2, "n_head": 4,
                                 "n_positions": 64}, seq_lens=(7, 16))}),
    Recipe("gpt2_past", "text", "GPT-2 small decoding with past key/values (stacked cache in and out)",
           _GPT2WithPast,
           (InputSpec("input_ids", ("batch", "seq"), "tokens", high=50257),
            InputSpec("attention_mask", ("batch", "past+seq"), "mask"),
            InputSpec("past_key_values", ("layers", 2, "batch", "heads", "past", "head_dim"))),
           ("logits", "present_key_values"),
           {"full": SizeConfig({}, {"layers": 12, "heads": 12, "head_dim": 64, "past": 128}, seq_lens=(1, 16)),
            "smoke": SizeConfig({"vocab_size": 50257, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64},
                                {"layers": 2, "heads": 4, "head_dim": 8, "past": 6}, seq_lens=(1, 5))}),
    Recipe("t5_small", "text", "T5-small encoder-decoder (transformers' T5ForConditionalGeneration)",
           _T5, _tokens(32128) + (InputSpec("decoder_input_ids", ("batch", "seq"), "tokens", high=32128),),
           ("logits",),
           {"full": SizeConfig({}, seq_lens=(128, 64)),
            "smoke": SizeConfig({"vocab_size": 32128, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2,
                                 "num_decoder_layers": 2, "num_heads": 4}, seq_lens=(7, 16))}),
    Recipe("whisper_tiny_encoder", "audio", "Whisper-tiny's audio encoder (transformers' WhisperModel)",
           _WhisperEncoder, (InputSpec("input_features", ("batch", "mels", "frames")),),
           ("last_hidden_state",),
           {"full": SizeConfig({"d_model": 384, "encoder_layers": 4, "encoder_attention_heads": 6,
                                "decoder_layers": 4, "decoder_attention_heads": 6,
                                "encoder_ffn_dim": 1536, "decoder_ffn_dim": 1536},
                               {"mels": 80, "frames": 3000}),
            "smoke": SizeConfig({"d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 4,
                                 "decoder_layers": 1, "decoder_attention_heads": 4, "encoder_ffn_dim": 64,
                                 "decoder_ffn_dim": 64, "num_mel_bins": 16, "max_source_positions": 50},
                                {"mels": 16, "frames": 100})}),
]
