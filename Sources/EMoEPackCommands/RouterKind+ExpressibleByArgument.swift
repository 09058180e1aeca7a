import ArgumentParser
import EMoEFormats

/// `--router average-key|up|up-abs`; help lists the values in their command-line spelling.
extension RouterKind: ExpressibleByArgument {
  public init?(argument: String) { self.init(argumentName: argument) }

  public var defaultValueDescription: String { argumentName }

  public static var allValueStrings: [String] { allCases.map(\.argumentName) }
}
