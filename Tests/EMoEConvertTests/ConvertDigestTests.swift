import EMoEConvert
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoECore

/// The converter hashes each source file once through its digest cache, and never its output
/// (callers that need the output's digest ask the cache for it).
@Suite("convert: source files hashed once, the output not at all")
struct ConvertDigestTests {
  @Test("two conversions of a sharded checkpoint hash each shard once and no output")
  func sourcesOnceOutputNever() throws {
    let directory = try TemporaryDirectory()
    let digests = FileDigests(racyInterval: .zero)
    let plan = try ConversionPlan(
      input: ConvertTestSupport.fixture("llama-tiny-sharded"),
      options: ConversionOptions(experts: 4, topK: 2, layers: "1", restarts: 1))
    let files = plan.source.files
    #expect(files.count > 1)
    let converter = Converter(plan: plan, tool: ConvertTestSupport.tool, digests: digests)
    let first = directory.file("first.emoe")
    let summary = try converter.run(output: first)
    #expect(summary.sha256 == nil)
    #expect(digests.timesHashed(first) == 0)
    #expect(files.allSatisfy { digests.timesHashed($0) == 1 })
    #expect(digests.filesHashed == files.count)
    // The recorded provenance is the files' SHA-256.
    let recorded = try ContainerFile(path: first).manifest.source.files.map(\.sha256)
    #expect(recorded == (try files.map { try FileSystem.sha256(ofFile: $0) }))

    let second = directory.file("second.emoe")
    _ = try converter.run(output: second)
    #expect(digests.timesHashed(second) == 0)
    #expect(digests.filesHashed == files.count)
  }
}
