/// What a model is: the architecture registry and per-layer FFN views.
public enum EMoEModel {}
