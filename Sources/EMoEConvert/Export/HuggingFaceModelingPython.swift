/// The Python files `export --to hf` writes beside the weights: transformers loads them with
/// `trust_remote_code=True` through the config's `auto_map`.
///
/// They are small on purpose, to be read beside Formats/EMoE.md: the configuration classes add
/// `emoe_layers` to LlamaConfig and BertConfig, and the modeling classes subclass transformers'
/// LlamaForCausalLM, LlamaModel and BertModel, replacing only the FFN of each converted layer.
/// Each line ends with a newline, so the files' bytes are fixed.
public enum HuggingFaceModelingPython {
  /// `configuration_emoe.py`: EMoELlamaConfig and EMoEBertConfig.
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
    from transformers import BertConfig, LlamaConfig


    class EMoELlamaConfig(LlamaConfig):
        """LlamaConfig plus emoe_layers."""

        model_type = "emoe_llama"

        def __init__(self, emoe_layers=None, **kwargs):
            self.emoe_layers = dict(emoe_layers or {})
            super().__init__(**kwargs)


    class EMoEBertConfig(BertConfig):
        """BertConfig plus emoe_layers."""

        model_type = "emoe_bert"

        def __init__(self, emoe_layers=None, **kwargs):
            self.emoe_layers = dict(emoe_layers or {})
            super().__init__(**kwargs)

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
    from transformers import BertModel, LlamaForCausalLM, LlamaModel
    from transformers.activations import ACT2FN
    from transformers.models.bert.modeling_bert import BertLayer

    from .configuration_emoe import EMoEBertConfig, EMoELlamaConfig


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


    def _rows(linear, rows):
        """The weight rows (and bias entries) of `linear` for neurons `rows`."""
        bias = None if linear.bias is None else linear.bias[rows]
        return linear.weight[rows], bias


    class EMoELlamaMLP(nn.Module):
        """LLaMA's SwiGLU MLP with its neurons split into experts: same parameter names."""

        def __init__(self, config, layer):
            super().__init__()
            spec = config.emoe_layers[str(layer)]
            d = config.hidden_size
            n = int(spec.get("shared", 0)) + sum(int(size) for size in spec["expert_sizes"])
            self.gate_proj = nn.Linear(d, n, bias=config.mlp_bias)
            self.up_proj = nn.Linear(d, n, bias=config.mlp_bias)
            self.down_proj = nn.Linear(n, d, bias=config.mlp_bias)
            self.act_fn = ACT2FN[config.hidden_act]
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


    def _install_llama(model, config):
        for layer in sorted(int(key) for key in config.emoe_layers):
            model.layers[layer].mlp = EMoELlamaMLP(config, layer)


    class EMoELlamaModel(LlamaModel):
        """LlamaModel whose converted layers run the EMoE MLP."""

        config_class = EMoELlamaConfig

        def __init__(self, config):
            super().__init__(config)
            _install_llama(self, config)
            self.post_init()


    class EMoELlamaForCausalLM(LlamaForCausalLM):
        """LlamaForCausalLM whose converted layers run the EMoE MLP."""

        config_class = EMoELlamaConfig

        def __init__(self, config):
            super().__init__(config)
            _install_llama(self.model, config)
            self.post_init()


    class EMoEBertLayer(BertLayer):
        """BertLayer whose FFN (intermediate.dense, output.dense) runs as EMoE experts."""

        def __init__(self, config, layer):
            super().__init__(config, layer_idx=layer)
            spec = config.emoe_layers[str(layer)]
            n = int(spec.get("shared", 0)) + sum(int(size) for size in spec["expert_sizes"])
            if n != config.intermediate_size:
                raise ValueError(f"layer {layer}: {n} neurons, config says {config.intermediate_size}")
            # Stored as intermediate.emoe.router, beside the key matrix intermediate.dense.
            self.intermediate.emoe = EMoERouting(spec, config.hidden_size)

        def inner(self, x, rows):
            return self.intermediate.intermediate_act_fn(
                F.linear(x, *_rows(self.intermediate.dense, rows))
            )

        def outer(self, h, rows):
            return F.linear(h, self.output.dense.weight[:, rows])

        def feed_forward_chunk(self, attention_output):
            ffn = self.intermediate.emoe(attention_output, self.inner, self.outer)
            hidden = self.output.dropout(ffn + self.output.dense.bias)
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
