import EMoEFormats

extension ContainerLayerRecord.Role {
  /// The stored role that holds the source FFN role `role`: the one map between the two
  /// vocabularies, which planning, conversion, export and verification all read.
  public init(_ role: FFNRole) {
    switch role {
    case .w1: self = .w1
    case .b1: self = .b1
    case .w2: self = .w2
    case .b2: self = .b2
    case .gate: self = .wg
    case .up: self = .wu
    case .down: self = .wd
    case .gateBias: self = .bg
    case .upBias: self = .bu
    case .downBias: self = .bd
    }
  }

  /// The source FFN role this stored role holds (the inverse of ``init(_:)``), or `nil` for
  /// the permutation and the average-key router and its bias, which the conversion computes.
  public var ffnRole: FFNRole? {
    FFNRole.allCases.first { Self($0) == self }
  }
}
