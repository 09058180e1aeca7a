import ArgumentParser
import EMoEConvert

extension SafeTensorsExport.Layout: ExpressibleByArgument {}
