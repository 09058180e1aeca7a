import EMoEFormats
import EMoEModel

extension ContainerLayerRecord.Role {
  /// The source FFN role this stored role holds, or `nil` for the permutation, router and router
  /// bias, which the conversion computes.
  var ffnRole: FFNRole? {
    switch self {
    case .permutation, .router, .routerBias: nil
    case .w1: .w1
    case .b1: .b1
    case .w2: .w2
    case .b2: .b2
    case .wg: .gate
    case .wu: .up
    case .wd: .down
    case .bg: .gateBias
    case .bu: .upBias
    case .bd: .downBias
    }
  }

  /// The stored role that holds the source FFN role `role`.
  init(_ role: FFNRole) {
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
}
