import ArgumentParser

/// The baselines `--baseline` offers.
enum EvaluationBaseline: String, ExpressibleByArgument, CaseIterable {
  /// Neurons assigned to experts at random.
  case random
}
