import ArgumentParser
import EMoEConvert

extension GGUFExport.Precision: ExpressibleByArgument {}
