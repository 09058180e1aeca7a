/// The Python files `export --to hf` writes beside the weights: transformers loads them with
/// `trust_remote_code=True` through the config's `auto_map`.
///
/// They are small on purpose, to be read beside Formats/EMoE.md: the configuration classes add
/// `emoe_layers` to each family's own configuration class (LlamaConfig, MistralConfig,
/// Qwen2Config, Qwen3Config, GemmaConfig, Gemma2Config, GPTNeoXConfig, OPTConfig, BertConfig),
/// and the modeling classes subclass the family's transformers classes (e.g. Qwen2Model,
/// Qwen2ForCausalLM, BertModel), replacing only the FFN of each converted layer: one gated EMoE
/// MLP serves every gated decoder family, with the activation of the dense MLP it replaces, and
/// one plain-FFN routine (`EMoERouting.plain`) serves BERT, GPT-NeoX and OPT. Each line ends with
/// a newline, so the files' bytes are fixed.
public enum HuggingFaceModelingPython {
  /// `configuration_emoe.py`: one EMoE configuration class per family, such as EMoEQwen2Config.
  public static let configuration = #"""
    # Written by emoe-pack export --to hf: the configurations of the EMoE models in modeling_emoe.py.
    #
    # emoe_layers maps each converted layer (its index as a string) to
    #   experts       E, the number of routed experts
    #   expert_sizes  their sizes in neurons, in stored order (they may differ)
    #   shared        S, the always-active neurons stored before the experts (0 when none)
    #   top_k         the experts each token selects
    #   router        "average_key" or "up" (a stored [E, d] matrix, optional bias) or "up_abs"
    #                 (mean of |Wu x + bu| over each expert's neurons; no stored router)
    #   router_bias   whether the router matrix has a bias
    # Layers not listed keep transformers' dense FFN.
    from transformers import (
        BertConfig,
        Gemma2Config,
        GemmaConfig,
        GPTNeoXConfig,
        LlamaConfig,
        MistralConfig,
        OPTConfig,
        Qwen2Config,
        Qwen3Config,
    )


    def _emoe_config(base, model_type):
        """The configuration class `base` plus emoe_layers, registered as `model_type`."""

        def __init__(self, emoe_layers=None, **kwargs):
            self.emoe_layers = dict(emoe_layers or {})
            base.__init__(self, **kwargs)

        name = "EMoE" + base.__name__
        doc = f"{base.__name__} plus emoe_layers."
        return type(name, (base,), {"model_type": model_type, "__init__": __init__, "__doc__": doc})


    EMoELlamaConfig = _emoe_config(LlamaConfig, "emoe_llama")
    EMoEMistralConfig = _emoe_config(MistralConfig, "emoe_mistral")
    EMoEQwen2Config = _emoe_config(Qwen2Config, "emoe_qwen2")
    EMoEQwen3Config = _emoe_config(Qwen3Config, "emoe_qwen3")
    EMoEGemmaConfig = _emoe_config(GemmaConfig, "emoe_gemma")
    EMoEGemma2Config = _emoe_config(Gemma2Config, "emoe_gemma2")
    EMoEGPTNeoXConfig = _emoe_config(GPTNeoXConfig, "emoe_gpt_neox")
    EMoEOPTConfig = _emoe_config(OPTConfig, "emoe_opt")
    EMoEBertConfig = _emoe_config(BertConfig, "emoe_bert")

    """#

  /// `modeling_emoe.py`: the sparse EMoE FFN and the model classes.
  public static let modeling = #"""
    # Written by emoe-pack export --to hf. The EMoE forward pass for transformers, to be read beside
    # the container specification (Formats/EMoE.md) and docs/export.md.
    #
    # Each converted layer's FFN weights are stored under their usual names with the neurons in
    # expert order: rows 0..S-1 are the always-active shared block (S may be 0), then expert e is
    # the next expert_sizes[e] rows of the gate/up (or intermediate) projection and the same columns
    # of the down (or output) projection. A token's experts are the top_k highest router scores
    # (ties to the lower index), and their outputs are summed with weight 1. Unconverted layers are
    # transformers' own dense modules.
    import torch
    import torch.nn.functional as F
    from torch import nn
    from transformers import (
        BertModel,
        Gemma2ForCausalLM,
        Gemma2Model,
        GemmaForCausalLM,
        GemmaModel,
        GPTNeoXForCausalLM,
        GPTNeoXModel,
        LlamaForCausalLM,
        LlamaModel,
        MistralForCausalLM,
        MistralModel,
        OPTForCausalLM,
        OPTModel,
        Qwen2ForCausalLM,
        Qwen2Model,
        Qwen3ForCausalLM,
        Qwen3Model,
    )
    from transformers.models.bert.modeling_bert import BertLayer
    from transformers.models.gpt_neox.modeling_gpt_neox import GPTNeoXMLP
    from transformers.models.opt.modeling_opt import OPTDecoderLayer

    from .configuration_emoe import (
        EMoEBertConfig,
        EMoEGemma2Config,
        EMoEGemmaConfig,
        EMoEGPTNeoXConfig,
        EMoELlamaConfig,
        EMoEMistralConfig,
        EMoEOPTConfig,
        EMoEQwen2Config,
        EMoEQwen3Config,
    )


    class EMoERouting(nn.Module):
        """One converted layer's experts and router, from config.emoe_layers[str(layer)]."""

        def __init__(self, spec, hidden_size):
            super().__init__()
            self.kind = spec["router"]
            self.top_k = int(spec["top_k"])
            self.shared = int(spec.get("shared", 0))
            sizes = [int(size) for size in spec["expert_sizes"]]
            starts = [self.shared]
            for size in sizes:
                starts.append(starts[-1] + size)
            # Expert e is neurons starts[e]..starts[e+1]-1 of the layer's FFN.
            self.starts = starts
            if self.kind in ("average_key", "up"):
                self.router = nn.Linear(hidden_size, len(sizes), bias=bool(spec.get("router_bias")))
            elif self.kind != "up_abs":
                raise ValueError(f"unknown EMoE router {self.kind!r}")

        @property
        def expert_count(self):
            return len(self.starts) - 1

        def scores(self, x, up_projection):
            """[tokens, E] scores (Formats/EMoE.md section 9.5)."""
            if self.kind != "up_abs":
                return self.router(x)
            # The mean of |Wu x + bu| over each expert's neurons (rows starts[e]..starts[e+1]-1
            # of all n, the shared ones first), summed in double precision.
            magnitudes = up_projection(x).abs().double()
            means = [magnitudes[:, a:b].mean(dim=-1) for a, b in zip(self.starts, self.starts[1:])]
            return torch.stack(means, dim=-1).to(x.dtype)

        def select(self, scores):
            """[tokens, k] expert indices: highest score first, ties to the lower index."""
            scores = torch.nan_to_num(scores, nan=float("-inf"))
            order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
            return order[:, : self.top_k]

        def forward(self, x, inner, outer, up_projection=None):
            """sum over selected experts e of outer(inner(x, rows_e), rows_e), plus the shared block.

            inner(x, rows) is the activations of neurons `rows`; outer(h, rows) maps them back
            through the matching columns of the down projection (without its bias).
            """
            shape = x.shape
            x = x.reshape(-1, shape[-1])
            output = torch.zeros_like(x)
            if self.shared > 0:
                rows = slice(0, self.shared)
                output += outer(inner(x, rows), rows)
            selected = self.select(self.scores(x, up_projection))
            for expert in range(self.expert_count):
                tokens = (selected == expert).any(dim=-1).nonzero().flatten()
                if tokens.numel() == 0:
                    continue
                rows = slice(self.starts[expert], self.starts[expert + 1])
                chosen = x.index_select(0, tokens)
                output.index_add_(0, tokens, outer(inner(chosen, rows), rows))
            return output.reshape(shape)

        def plain(self, x, up, down, act):
            """A plain FFN's output: act(W1_e x + b1_e) through W2_e per selected expert, plus b2 once.

            up and down are the layer's own nn.Linear modules (W1 [n, d], W2 [d, n]), so the
            parameters keep the family's names.
            """

            def inner(h, rows):
                return act(F.linear(h, *_rows(up, rows)))

            def outer(h, rows):
                return F.linear(h, down.weight[:, rows])

            output = self(x, inner, outer, up)
            return output if down.bias is None else output + down.bias


    def _routing(config, layer, width):
        """The EMoERouting of converted layer `layer`, whose dense FFN has `width` neurons."""
        spec = config.emoe_layers[str(layer)]
        n = int(spec.get("shared", 0)) + sum(int(size) for size in spec["expert_sizes"])
        if n != width:
            raise ValueError(f"layer {layer}: {n} neurons, config says {width}")
        return EMoERouting(spec, config.hidden_size)


    def _rows(linear, rows):
        """The weight rows (and bias entries) of `linear` for neurons `rows`."""
        bias = None if linear.bias is None else linear.bias[rows]
        return linear.weight[rows], bias


    class EMoEMLP(nn.Module):
        """A decoder's gated MLP with its neurons split into experts: same parameter names.

        act_fn is the dense MLP's own (SiLU for LLaMA, Mistral and Qwen, GELU-tanh for Gemma),
        so the activation is the one transformers reads from hidden_act or hidden_activation.
        """

        def __init__(self, config, layer, act_fn):
            super().__init__()
            spec = config.emoe_layers[str(layer)]
            d = config.hidden_size
            n = int(spec.get("shared", 0)) + sum(int(size) for size in spec["expert_sizes"])
            bias = getattr(config, "mlp_bias", False)  # only LlamaConfig has mlp_bias
            self.gate_proj = nn.Linear(d, n, bias=bias)
            self.up_proj = nn.Linear(d, n, bias=bias)
            self.down_proj = nn.Linear(n, d, bias=bias)
            self.act_fn = act_fn
            self.emoe = EMoERouting(spec, d)

        def inner(self, x, rows):
            gate = F.linear(x, *_rows(self.gate_proj, rows))
            return self.act_fn(gate) * F.linear(x, *_rows(self.up_proj, rows))

        def outer(self, h, rows):
            return F.linear(h, self.down_proj.weight[:, rows])

        def forward(self, x):
            output = self.emoe(x, self.inner, self.outer, self.up_proj)
            if self.down_proj.bias is not None:
                output = output + self.down_proj.bias
            return output


    class EMoEGPTNeoXMLP(GPTNeoXMLP):
        """GPTNeoXMLP (dense_h_to_4h, act, dense_4h_to_h) whose neurons run as EMoE experts."""

        def __init__(self, config, layer):
            super().__init__(config)
            self.emoe = _routing(config, layer, config.intermediate_size)

        def forward(self, x):
            return self.emoe.plain(x, self.dense_h_to_4h, self.dense_4h_to_h, self.act)


    class EMoEOPTDecoderLayer(OPTDecoderLayer):
        """OPTDecoderLayer whose fc1, activation_fn, fc2 run as EMoE experts (router: .emoe)."""

        def __init__(self, config, layer):
            super().__init__(config, layer_idx=layer)
            self.emoe = _routing(config, layer, config.ffn_dim)

        def forward(
            self,
            hidden_states,
            attention_mask=None,
            cache=None,
            use_cache=False,
            position_ids=None,
            **kwargs,
        ):
            # OPTDecoderLayer.forward of transformers 5.25, whose FFN is inline, with
            # fc2(activation_fn(fc1(h))) replaced by the experts.
            residual = hidden_states
            if self.do_layer_norm_before:
                hidden_states = self.self_attn_layer_norm(hidden_states)
            hidden_states, _ = self.self_attn(
                hidden_states=hidden_states,
                cache=cache,
                position_ids=position_ids,
                attention_mask=attention_mask,
                **kwargs,
            )
            hidden_states = nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
            hidden_states = residual + hidden_states
            if not self.do_layer_norm_before:
                hidden_states = self.self_attn_layer_norm(hidden_states)
            shape = hidden_states.shape
            hidden_states = hidden_states.reshape(-1, hidden_states.size(-1))
            residual = hidden_states
            if self.do_layer_norm_before:
                hidden_states = self.final_layer_norm(hidden_states)
            hidden_states = self.emoe.plain(hidden_states, self.fc1, self.fc2, self.activation_fn)
            hidden_states = nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
            hidden_states = (residual + hidden_states).view(shape)
            if not self.do_layer_norm_before:
                hidden_states = self.final_layer_norm(hidden_states)
            return hidden_states


    def _gated_layer(layers, config, layer):
        layers[layer].mlp = EMoEMLP(config, layer, layers[layer].mlp.act_fn)


    def _gpt_neox_layer(layers, config, layer):
        layers[layer].mlp = EMoEGPTNeoXMLP(config, layer)


    def _opt_layer(layers, config, layer):
        layers[layer] = EMoEOPTDecoderLayer(config, layer)


    def _decoder_layers(model):
        """The decoder's layer list: under .model (ForCausalLM), .gpt_neox or .decoder (OPT)."""
        while not hasattr(model, "layers"):
            names = [name for name in ("model", "gpt_neox", "decoder") if hasattr(model, name)]
            model = getattr(model, names[0])
        return model.layers


    def _emoe_decoder(base, config_class, convert=_gated_layer):
        """`base` (a family's Model or ForCausalLM) whose converted layers run the EMoE FFN."""

        def __init__(self, config):
            base.__init__(self, config)
            layers = _decoder_layers(self)
            for layer in sorted(int(key) for key in config.emoe_layers):
                convert(layers, config, layer)
            self.post_init()

        name = "EMoE" + base.__name__
        doc = f"{base.__name__} whose converted layers run the EMoE FFN."
        attributes = {"config_class": config_class, "__init__": __init__, "__doc__": doc}
        return type(name, (base,), attributes)


    # The decoder families: each one's Model and ForCausalLM with its configuration.
    EMoELlamaModel = _emoe_decoder(LlamaModel, EMoELlamaConfig)
    EMoELlamaForCausalLM = _emoe_decoder(LlamaForCausalLM, EMoELlamaConfig)
    EMoEMistralModel = _emoe_decoder(MistralModel, EMoEMistralConfig)
    EMoEMistralForCausalLM = _emoe_decoder(MistralForCausalLM, EMoEMistralConfig)
    EMoEQwen2Model = _emoe_decoder(Qwen2Model, EMoEQwen2Config)
    EMoEQwen2ForCausalLM = _emoe_decoder(Qwen2ForCausalLM, EMoEQwen2Config)
    EMoEQwen3Model = _emoe_decoder(Qwen3Model, EMoEQwen3Config)
    EMoEQwen3ForCausalLM = _emoe_decoder(Qwen3ForCausalLM, EMoEQwen3Config)
    EMoEGemmaModel = _emoe_decoder(GemmaModel, EMoEGemmaConfig)
    EMoEGemmaForCausalLM = _emoe_decoder(GemmaForCausalLM, EMoEGemmaConfig)
    EMoEGemma2Model = _emoe_decoder(Gemma2Model, EMoEGemma2Config)
    EMoEGemma2ForCausalLM = _emoe_decoder(Gemma2ForCausalLM, EMoEGemma2Config)
    EMoEGPTNeoXModel = _emoe_decoder(GPTNeoXModel, EMoEGPTNeoXConfig, _gpt_neox_layer)
    EMoEGPTNeoXForCausalLM = _emoe_decoder(GPTNeoXForCausalLM, EMoEGPTNeoXConfig, _gpt_neox_layer)
    EMoEOPTModel = _emoe_decoder(OPTModel, EMoEOPTConfig, _opt_layer)
    EMoEOPTForCausalLM = _emoe_decoder(OPTForCausalLM, EMoEOPTConfig, _opt_layer)


    class EMoEBertLayer(BertLayer):
        """BertLayer whose FFN (intermediate.dense, output.dense) runs as EMoE experts."""

        def __init__(self, config, layer):
            super().__init__(config, layer_idx=layer)
            # Stored as intermediate.emoe.router, beside the key matrix intermediate.dense.
            self.intermediate.emoe = _routing(config, layer, config.intermediate_size)

        def feed_forward_chunk(self, attention_output):
            intermediate = self.intermediate
            act = intermediate.intermediate_act_fn
            ffn = intermediate.emoe.plain(attention_output, intermediate.dense, self.output.dense, act)
            hidden = self.output.dropout(ffn)
            return self.output.LayerNorm(hidden + attention_output)


    class EMoEBertModel(BertModel):
        """BertModel whose converted layers run the EMoE FFN."""

        config_class = EMoEBertConfig

        def __init__(self, config, add_pooling_layer=True):
            super().__init__(config, add_pooling_layer=add_pooling_layer)
            for layer in sorted(int(key) for key in config.emoe_layers):
                self.encoder.layer[layer] = EMoEBertLayer(config, layer)
            self.post_init()

    """#
}
