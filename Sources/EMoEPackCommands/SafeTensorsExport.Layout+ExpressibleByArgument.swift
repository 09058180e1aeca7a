import ArgumentParser
import EMoEConvert

extension SafeTensorsExport.Layout: @retroactive ExpressibleByArgument {}
