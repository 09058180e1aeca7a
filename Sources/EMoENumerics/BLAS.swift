import COpenBLAS

/// The one Swift wrapper over OpenBLAS: single-precision matrix products in row-major order.
public enum BLAS {
  /// Whether an operand is used as stored or transposed.
  public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
  }

  /// Computes `C = alpha · op(A) · op(B) + beta · C` for row-major matrices.
  ///
  /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are the row
  /// strides of the matrices as stored. Sizes must fit in 32 bits (OpenBLAS's `blasint`).
  public static func sgemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
      CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha, a,
      Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// The number of threads OpenBLAS uses for one product.
  public static var threadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(newValue)) }
  }

  /// OpenBLAS's build description, such as `OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake`.
  public static var configuration: String { String(cString: openblas_get_config()) }
}
