import ArgumentParser
import EMoEModel

/// `--cluster-on gate|up`; help lists the values.
extension LayerFFN.KeyMatrix: ExpressibleByArgument {}
