import EMoECore

/// A GGUF file that cannot be read or written: what is wrong, and where.
///
/// Reads as `model.gguf: tensor 'blk.0.ffn_up.weight' (byte 1032): offset 96, expected 64 …`.
public struct GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The rule a file or a write request broke.
  public enum Kind: String, Sendable, Equatable, CaseIterable {
    /// The file ends before a field, string, array or the tensor data it announces.
    case truncated
    /// The file does not start with `GGUF`.
    case badMagic
    /// Version 0, 1 (obsolete 32-bit counts) or newer than 3.
    case unsupportedVersion
    /// The version reads byte-swapped: a big-endian file.
    case foreignByteOrder
    /// A tensor or key-value count that is negative as ggml's signed 64-bit reading.
    case countTooLarge
    /// A metadata key that is empty or too long.
    case invalidKey
    /// A metadata key that appears twice.
    case duplicateKey
    /// A metadata value type number that GGUF does not define.
    case invalidValueType
    /// An array of arrays (ggml rejects them).
    case nestedArray
    /// A string longer than ggml's 64 MiB cap.
    case stringTooLong
    /// An array with more elements than ggml's cap.
    case arrayTooLong
    /// A key, name or string value that is not valid UTF-8.
    case invalidUTF8
    /// A Boolean stored as something other than 0 or 1.
    case invalidBool
    /// `general.alignment` that is not a u32 power of two up to 1 MiB.
    case invalidAlignment
    /// A tensor name that is empty, holds a NUL byte, or is 64 bytes or longer.
    case invalidTensorName
    /// Two tensors with the same name.
    case duplicateTensorName
    /// More than four dimensions.
    case tooManyDimensions
    /// A dimension that is negative as ggml's signed 64-bit reading.
    case invalidDimension
    /// An element or byte count that overflows.
    case elementCountOverflow
    /// A ggml type number that ggml never defined, or one it has removed.
    case unknownTensorType
    /// A ggml type emoe-pack does not read (IQ*, TQ*, MXFP4, …), or a dtype GGUF cannot store.
    case unsupportedTensorType
    /// A row length (`ne0`) that is not a multiple of the type's block size.
    case rowNotBlockMultiple
    /// A tensor data offset that is not a multiple of the alignment.
    case misalignedOffset
    /// A tensor whose data does not start where the previous one's padded data ends.
    case unexpectedOffset
    /// Tensor data (with its padding) that runs past the end of the file.
    case dataOutOfBounds
    /// A lookup of a tensor the file does not have.
    case tensorNotFound
    /// A metadata value the writer cannot store (an array whose elements are not its type).
    case invalidValue
    /// Tensor data written in the wrong amount, order or shape.
    case writeMismatch
  }

  /// The rule that was broken.
  public var kind: Kind
  /// The file, tensor or key, and byte offset concerned.
  public var location: ErrorLocation
  /// A readable explanation.
  public var message: String

  /// Creates an error.
  public init(_ kind: Kind, _ location: ErrorLocation, _ message: String) {
    self.kind = kind
    self.location = location
    self.message = message
  }

  /// `file: tensor 'name' (byte N): message`.
  public var description: String { "\(location): \(message)" }
}
