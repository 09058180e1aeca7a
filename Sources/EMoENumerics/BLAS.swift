import COpenBLAS
import Dispatch
import EMoECore
import Synchronization

/// The one Swift wrapper over OpenBLAS: single-precision matrix products in row-major order.
///
/// Products do not depend on the thread count, bit for bit. OpenBLAS's own threading splits a
/// product differently for each thread count, and some of its kernels (Zen and SkylakeX in
/// 0.3.21) then round differently, so OpenBLAS always runs on one thread here. Parallelism
/// comes from ``sgemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:parallel:)`` itself: it cuts the
/// output into tiles whose shape depends only on the product's shape, and computes each tile
/// with one single-threaded OpenBLAS call, on ``threadCount`` workers.
///
/// What still differs between machines: the kernel OpenBLAS picks for the CPU (or for
/// `OPENBLAS_CORETYPE`) fixes the rounding of each tile, so two kernels may disagree in the last
/// bits of a product. See docs/reliability.md for what that means for each command's output.
public enum BLAS {
  /// Whether an operand is used as stored or transposed.
  public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
  }

  /// The output tile edge: products are cut into tiles of at most this many rows and columns.
  ///
  /// Large enough for OpenBLAS's packed kernels to run near their peak, small enough that a
  /// 512-token product of a 7B-shaped layer yields dozens of tiles to share out.
  public static let tileEdge = 256

  /// Products with fewer multiply-adds than this run as one call: tiling would cost more than
  /// it saves.
  static let parallelThreshold = 1 << 22

  /// Computes `C = alpha · op(A) · op(B) + beta · C` for row-major matrices.
  ///
  /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are the row
  /// strides of the matrices as stored. Sizes must fit in 32 bits (OpenBLAS's `blasint`). The
  /// result is the same bits for every ``threadCount``.
  ///
  /// Pass `parallel: false` from code that is already running on several workers: the product
  /// then runs as one single-threaded OpenBLAS call on the calling thread, so workers are not
  /// nested. Its bits are fixed by the shape alone too, but may differ from the tiled product's.
  public static func sgemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true
  ) {
    guard m > 0, n > 0 else { return }
    _ = singleThreadedLibrary
    guard parallel else {
      call(
        transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
        beta: beta, c: c, ldc: ldc)
      return
    }
    let rowTiles = (m + tileEdge - 1) / tileEdge
    let columnTiles = (n + tileEdge - 1) / tileEdge
    let tiles = rowTiles * columnTiles
    let workers = min(threadCount, tiles)
    // The tiling is fixed by the shape alone; only who computes which tile varies.
    let tiled =
      m.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(
        by: max(k, 1)
      ).partialValue >= parallelThreshold && tiles > 1
    guard tiled else {
      call(
        transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
        beta: beta, c: c, ldc: ldc)
      return
    }
    nonisolated(unsafe) let a = a
    nonisolated(unsafe) let b = b
    nonisolated(unsafe) let c = c
    let computeTile: @Sendable (Int) -> Void = { tile in
      let row = (tile / columnTiles) * tileEdge
      let column = (tile % columnTiles) * tileEdge
      let rows = min(tileEdge, m - row)
      let columns = min(tileEdge, n - column)
      let aTile = transA == .none ? a + row * lda : a + row
      let bTile = transB == .none ? b + column : b + column * ldb
      call(
        transA, transB, m: rows, n: columns, k: k, alpha: alpha, a: aTile, lda: lda, b: bTile,
        ldb: ldb, beta: beta, c: c + row * ldc + column, ldc: ldc)
    }
    if workers <= 1 {
      for tile in 0..<tiles { computeTile(tile) }
      return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      var tile = worker
      while tile < tiles {
        computeTile(tile)
        tile += workers
      }
    }
  }

  private static func call(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    cblas_sgemm(
      CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha, a,
      Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// The number of workers one product uses, at least 1 (default: ``defaultThreadCount``).
  ///
  /// Results do not depend on it. Set it once per process (the `--threads` option does); it is
  /// read at the start of each product.
  public static var threadCount: Int {
    get {
      let configured = configuredThreads.load(ordering: .relaxed)
      return configured > 0 ? configured : defaultThreadCount
    }
    set { configuredThreads.store(max(1, newValue), ordering: .relaxed) }
  }

  /// The thread count used when none is set: `EMOE_THREADS` when it holds a positive whole
  /// number, otherwise the number of cores online.
  public static var defaultThreadCount: Int {
    if let text = getenv("EMOE_THREADS").map({ String(cString: $0) }), let value = Int(text),
      value > 0
    {
      return value
    }
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }

  private static let configuredThreads = Atomic<Int>(0)

  /// OpenBLAS's build description, such as `OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake`; the
  /// last word names the kernel it picked for this CPU.
  public static var configuration: String { String(cString: openblas_get_config()) }

  /// The kernel OpenBLAS picked for this CPU (or for `OPENBLAS_CORETYPE`), such as `Zen`.
  public static var coreName: String { String(cString: openblas_get_corename()) }

  /// Puts OpenBLAS on one thread before its first product: the one call that sets OpenBLAS's
  /// thread count, run once per process (a static constant's initialiser runs exactly once,
  /// whichever thread gets there first).
  private static let singleThreadedLibrary: Void = openblas_set_num_threads(1)
}
