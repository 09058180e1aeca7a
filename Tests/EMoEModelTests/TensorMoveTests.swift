import EMoECore
import EMoEFormats
import EMoEModel
import Testing

/// The one map between source FFN roles and stored roles, and the one rule for how each tensor
/// becomes neuron-major (Formats/EMoE.md, "Converted layers").
@Suite("FFN roles: the stored-role map and how each tensor moves")
struct TensorMoveTests {
  @Test("every FFN role has its own stored role, and the map inverts")
  func roleMapInverts() {
    let stored = FFNRole.allCases.map { ContainerLayerRecord.Role($0) }
    #expect(Set(stored).count == FFNRole.allCases.count)
    for role in FFNRole.allCases {
      #expect(ContainerLayerRecord.Role(role).ffnRole == role)
    }
    #expect(ContainerLayerRecord.Role(.gate) == .wg)
    #expect(ContainerLayerRecord.Role(.downBias) == .bd)
    for computed in [ContainerLayerRecord.Role.permutation, .router, .routerBias] {
      #expect(computed.ffnRole == nil, "\(computed)")
    }
    // Matrix keys map both ways; activations are no matrix (a GLU router averages Wg rows).
    for keys in ContainerLayerRecord.KeySource.allCases where keys != .activations {
      #expect(ContainerLayerRecord.KeySource(keys.ffnRole) == keys)
    }
    #expect(ContainerLayerRecord.KeySource.activations.ffnRole == .gate)
    #expect(ContainerLayerRecord.KeySource(.down) == nil)
  }

  @Test("matrices move rows or columns by layout, biases are permuted or copied")
  func moves() {
    // A plain (nn.Linear) layer: W1 [n, d] rows are neurons, W2 [d, n] columns are.
    #expect(TensorMove(.w1, transposed: false, dtype: .f32) == .rows)
    #expect(TensorMove(.w2, transposed: false, dtype: .bf16) == .columns)
    #expect(TensorMove(.down, transposed: false, dtype: .q8_0) == .decodedColumns)
    #expect(TensorMove(.gate, transposed: false, dtype: .q4_0) == .rows)
    // A Conv1D layer stores [in, out]: the other way round.
    #expect(TensorMove(.w1, transposed: true, dtype: .f32) == .columns)
    #expect(TensorMove(.w2, transposed: true, dtype: .f32) == .rows)
    #expect(TensorMove(.b1, transposed: false, dtype: .f16) == .values)
    #expect(TensorMove(.upBias, transposed: true, dtype: .q8_0) == .decodedValues)
    #expect(TensorMove(.b2, transposed: false, dtype: .f32) == .copy)
    #expect(TensorMove(.downBias, transposed: true, dtype: .f32) == .copy)
    #expect(TensorMove.decodedColumns.readsColumns && TensorMove.decodedColumns.decodes)
    #expect(!TensorMove.copy.isPermuted && TensorMove.values.isPermuted)
    #expect(TensorMove.decodedValues.word == "values" && TensorMove.columns.word == "columns")
  }
}
