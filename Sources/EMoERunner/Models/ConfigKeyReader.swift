import EMoECore

/// Reads typed keys of a `config.json`, throwing a ``RunnerError`` that names the key.
struct ConfigKeyReader {
  let config: JSONValue
  let file: String

  /// The positive integer at `key`.
  func positiveInteger(_ key: String) throws(RunnerError) -> Int {
    if let found = config[key]?.intValue, found > 0 { return found }
    throw RunnerError("config.json needs a positive integer", file: file, key: key)
  }

  /// The boolean at `key`, or `value` when it is absent or null.
  func flag(_ key: String, default value: Bool) throws(RunnerError) -> Bool {
    guard let found = config[key], found != .null else { return value }
    guard let bool = found.boolValue else {
      throw RunnerError("config.json needs true or false", file: file, key: key)
    }
    return bool
  }
}
