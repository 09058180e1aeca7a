import EMoEConvert
import EMoECore
import Testing

@testable import EMoEPackCommands

/// `ConversionOptions.descriptors` is the one table of conversion options: `convert`'s options
/// are exactly its entries (EMoEBatchTests checks the batch keys and JSON names).
@Suite("one table of conversion options: the convert command")
struct ConversionOptionTableTests {
  /// The `--long` names in a help text.
  static func longNames(_ help: String) -> Set<String> {
    var names = Set<String>()
    var rest = Substring(help)
    while let range = rest.range(of: "--") {
      let name = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
      if !name.isEmpty { names.insert(String(name)) }
      rest = rest[range.upperBound...]
    }
    return names
  }

  @Test("every entry is a convert option with the table's help, and nothing else is")
  func commandOptions() {
    let help = ConvertCommand.helpMessage(columns: 1000)
    let global = Self.longNames(GlobalOptions.helpMessage(columns: 1000))
    let table = Set(ConversionOptions.descriptors.map(\.longName))
    // Options that choose extra outputs rather than what the conversion does.
    let outputs: Set = ["depfile", "json", "help"]
    let command = Self.longNames(help).subtracting(global).subtracting(outputs)
    #expect(command == table)
    for descriptor in ConversionOptions.descriptors {
      #expect(help.contains(descriptor.help), "\(descriptor.longName)")
    }
    #expect(help.contains("(values: gate, up"), "\(help)")
    #expect(help.contains("(values: none, int8, q8_0"), "\(help)")
  }

  /// Long names the convert discussion mentions in prose only as examples of values.
  static let prose: Set<String> = ["compress=LEVEL", "compress=99", "experts", "top-k"]
}
