/// What a container records about one converted FFN layer: its shape, the clustering that made
/// its experts, and the stored tensors that hold it.
///
/// Every FFN matrix is stored neuron-major as `[n, d]`, so expert `e`'s slice of each matrix is
/// rows `expertRange(e)`: one contiguous byte range (Formats/EMoE.md, "Converted layers").
public struct ContainerLayerRecord: Sendable, Equatable {
  /// The FFN form.
  public enum Family: String, Sendable, CaseIterable {
    /// `y = W2 · act(W1 x + b1) + b2`.
    case plain
    /// `y = Wd · (act(Wg x) ⊙ (Wu x))`.
    case glu
  }

  /// Which matrix's rows were the clustered keys.
  public enum KeySource: String, Sendable, CaseIterable {
    /// Rows of W1 (plain FFN).
    case w1
    /// Rows of Wg (GLU, EMoE's choice).
    case gate
    /// Rows of Wu (GLU, LLaMA-MoE's choice).
    case up
    /// The neurons' activation patterns on calibration text; the router then averages the rows
    /// of Wg (GLU) or W1 (plain), see ``ContainerLayerRecord/routerKeys``.
    case activations
  }

  /// The part a stored tensor plays in the layer.
  public enum Role: String, Sendable, CaseIterable, Comparable {
    /// `[n]` I32 or I64: the original neuron index of every stored position.
    case permutation
    /// `[E, d]` F32: the average-key router (stored as `gate` before revision 1.1).
    case router
    /// `[E]` F32: the router's optional bias (stored as `gate_bias` before revision 1.1).
    case routerBias = "router_bias"
    /// Plain FFN input matrix, stored `[n, d]`.
    case w1
    /// Plain FFN input bias, permuted, `[n]`.
    case b1
    /// Plain FFN output matrix, stored transposed as `[n, d]`.
    case w2
    /// Plain FFN output bias, unchanged, `[d]`.
    case b2
    /// GLU gate matrix, stored `[n, d]`.
    case wg
    /// GLU up matrix, stored `[n, d]`.
    case wu
    /// GLU down matrix, stored transposed as `[n, d]`.
    case wd
    /// GLU gate bias, permuted, `[n]`.
    case bg
    /// GLU up bias, permuted, `[n]`.
    case bu
    /// GLU down bias, unchanged, `[d]`.
    case bd

    /// Roles in the fixed order the manifest lists them.
    public static func < (lhs: Role, rhs: Role) -> Bool {
      allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The role stored under `name`, also under its name before revision 1.1 of the format
    /// (`gate` for ``router``, `gate_bias` for ``routerBias``).
    public init?(storedName name: String) {
      switch name {
      case "gate": self = .router
      case "gate_bias": self = .routerBias
      default: self.init(rawValue: name)
      }
    }

    /// Whether the role is a `[n, d]` FFN matrix.
    public var isMatrix: Bool { [.w1, .w2, .wg, .wu, .wd].contains(self) }
    /// Whether the role is a permuted `[n]` bias.
    public var isNeuronVector: Bool { [.b1, .bg, .bu].contains(self) }
    /// Whether the role is an unchanged `[d]` output bias.
    public var isOutputBias: Bool { [.b2, .bd].contains(self) }
  }

  /// How the experts were found.
  public struct Clustering: Sendable, Equatable {
    /// The method's name, such as `balanced_kmeans`.
    public var method: String
    /// The matrix whose rows were clustered.
    public var keys: KeySource
    /// The random seed.
    public var seed: Int
    /// The number of restarts (the best is kept).
    public var restarts: Int
    /// The iterations the kept run took.
    public var iterations: Int
    /// The sum of squared distances of the normalised keys to their expert's mean.
    public var sse: Double

    /// Creates a clustering description.
    public init(
      method: String, keys: KeySource, seed: Int, restarts: Int, iterations: Int, sse: Double
    ) {
      self.method = method
      self.keys = keys
      self.seed = seed
      self.restarts = restarts
      self.iterations = iterations
      self.sse = sse
    }
  }

  /// The layer's index in the model (`blk.N` / `layer.N`).
  public var layer: Int
  /// The FFN form.
  public var family: Family
  /// The activation: `gelu`, `gelu_tanh`, `relu`, `silu` and so on.
  public var activation: String
  /// Whether the source stores its FFN matrices transposed (GPT-2's Conv1D).
  public var transposedSource: Bool
  /// The hidden size d.
  public var hiddenSize: Int
  /// The number of FFN neurons n.
  public var intermediateSize: Int
  /// The number of routed experts E.
  public var expertCount: Int
  /// The neurons in each routed expert, in stored order after the shared block; all
  /// ⌊(n-S)/E⌋ or ⌈(n-S)/E⌉, summing to n - S.
  public var expertSizes: [Int]
  /// The number S of shared neurons: stored positions `[0, S)` form a block every token
  /// computes, outside the routing (0 when the layer has none).
  public var sharedCount: Int
  /// The default number of experts selected per token.
  public var topK: Int
  /// How the experts were found.
  public var clustering: Clustering
  /// How the layer scores its experts (``RouterKind/averageKey`` when the record has no
  /// `router` member).
  public var router: RouterKind
  /// The stored tensor playing each role.
  public var tensors: [Role: String]

  /// Creates a layer record.
  public init(
    layer: Int, family: Family, activation: String, transposedSource: Bool, hiddenSize: Int,
    intermediateSize: Int, expertCount: Int, expertSizes: [Int], sharedCount: Int = 0,
    topK: Int, clustering: Clustering, tensors: [Role: String], router: RouterKind = .averageKey
  ) {
    self.layer = layer
    self.family = family
    self.activation = activation
    self.transposedSource = transposedSource
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.expertCount = expertCount
    self.expertSizes = expertSizes
    self.sharedCount = sharedCount
    self.topK = topK
    self.clustering = clustering
    self.tensors = tensors
    self.router = router
  }

  /// Equal expert sizes when E divides n, else the first `n mod E` experts one larger.
  public static func balancedSizes(neurons: Int, experts: Int) -> [Int] {
    guard experts > 0 else { return [] }
    let base = neurons / experts
    let larger = neurons % experts
    return (0..<experts).map { $0 < larger ? base + 1 : base }
  }

  /// The stored rows `[start, end)` of routed expert `expert` (after the shared block).
  public func expertRange(_ expert: Int) -> Range<Int> {
    let start = sharedCount + expertSizes[..<expert].reduce(0, +)
    return start..<(start + expertSizes[expert])
  }

  /// The stored rows `[0, S)` of the always-active shared block.
  public var sharedRange: Range<Int> { 0..<sharedCount }

  /// The matrix whose rows the router averages: the clustered keys, or for neurons clustered
  /// by their activations, Wg (GLU) or W1 (plain).
  public var routerKeys: KeySource {
    guard clustering.keys == .activations else { return clustering.keys }
    return family == .glu ? .gate : .w1
  }

  /// The roles a layer of this family and router kind must have.
  public var requiredRoles: [Role] {
    let roles: [Role] =
      switch family {
      case .plain: [.permutation, .router, .w1, .w2]
      case .glu: [.permutation, .router, .wg, .wu, .wd]
      }
    return router.storesRouterMatrix ? roles : roles.filter { $0 != .router }
  }

  /// The roles a layer of this family and router kind may have.
  public var allowedRoles: Set<Role> {
    let roles: Set<Role> =
      switch family {
      case .plain: [.permutation, .router, .routerBias, .w1, .b1, .w2, .b2]
      case .glu: [.permutation, .router, .routerBias, .wg, .wu, .wd, .bg, .bu, .bd]
      }
    return router.storesRouterMatrix ? roles : roles.subtracting([.router, .routerBias])
  }
}
