/// Reference runners: dense, masked and sparse FFN forward passes and the verifier.
public enum EMoERunner {}
