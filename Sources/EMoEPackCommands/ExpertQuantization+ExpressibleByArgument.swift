import ArgumentParser
import EMoEConvert

/// `--quantize none|int8|q8_0`; help lists the values.
extension ExpertQuantization: ExpressibleByArgument {}
