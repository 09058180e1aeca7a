import EMoECore

/// How a source FFN tensor becomes its stored, neuron-major form in a converted layer
/// (Formats/EMoE.md, "Converted layers"): the one rule that planning, conversion and
/// verification all apply.
///
/// Every matrix is stored `[n, d]`, so stored row p holds neuron σ[p]: a matrix whose source
/// rows are neurons moves whole rows, one whose source columns are neurons moves column by
/// column. Input-side biases are permuted, output-side biases copied.
public enum TensorMove: Sendable, Equatable {
  /// Stored row p is source row σ[p]: whole rows (of any dtype, quantised too) move.
  case rows
  /// Stored row p is source column σ[p]: elements move one by one, bit for bit.
  case columns
  /// As ``columns``, after decoding the source to F32 (its blocks run along the wrong axis to
  /// be moved whole).
  case decodedColumns
  /// Stored value p is source value σ[p] (an input-side bias).
  case values
  /// As ``values``, after decoding the source to F32 (a quantised bias).
  case decodedValues
  /// Copied unchanged (an output-side bias).
  case copy

  /// How the tensor of `role` moves, for a layer whose matrices are `transposed` (Conv1D, stored
  /// `[in, out]`) or not, when its source is stored as `dtype`.
  public init(_ role: FFNRole, transposed: Bool, dtype: DType) {
    if role.isWeight {
      if Self.neuronsAreColumns(role, transposed: transposed) {
        self = dtype.isQuantized ? .decodedColumns : .columns
      } else {
        self = .rows
      }
    } else if role.isInputSide {
      self = dtype.isQuantized ? .decodedValues : .values
    } else {
      self = .copy
    }
  }

  /// Whether the source matrix of `role` holds one neuron per column (`[d, n]`), not per row.
  ///
  /// True for the input-side matrices of a transposed layer and the output-side ones of a
  /// plain one; always false for a bias.
  public static func neuronsAreColumns(_ role: FFNRole, transposed: Bool) -> Bool {
    role.isWeight && role.isInputSide == transposed
  }

  /// Whether stored position p reads source neuron σ[p] (everything but ``copy``).
  public var isPermuted: Bool { self != .copy }

  /// Whether the source is read along its columns (the container records it as `transposed`).
  public var readsColumns: Bool { self == .columns || self == .decodedColumns }

  /// Whether the source is decoded to F32 first, so the stored values are F32.
  public var decodes: Bool { self == .decodedColumns || self == .decodedValues }

  /// A word for reports: `rows`, `columns`, `values` or `copy`.
  public var word: String {
    switch self {
    case .rows: "rows"
    case .columns, .decodedColumns: "columns"
    case .values, .decodedValues: "values"
    case .copy: "copy"
    }
  }
}
