/// Converting dense FFNs into EMoE form: clustering, permutation, gates, the pipeline.
public enum EMoEConvert {}
