import EMoETestSupport
import Foundation
import Testing

@Suite("emoe-pack inspect on safetensors")
struct SafeTensorsInspectTests {
  @Test(
    "inspect --json on the real MiniLM checkpoint lists every tensor, its metadata and config",
    .enabled(if: Oracles.miniLM))
  func miniLMJSON() throws {
    let path = try #require(try TestPaths.miniLM())
    let output = try CommandRunner.run(["inspect", path, "--json"])
    #expect(output.status == 0, "\(output.stderr)")
    let document = try #require(
      JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    #expect(document["format"] as? String == "safetensors")
    #expect(document["files"] as? [String] == [path])
    let tensors = try #require(document["tensors"] as? [[String: Any]])
    #expect(tensors.count > 100)
    let total = tensors.reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) }
    #expect(document["total_bytes"] as? Int == total)
    let fileSize = try #require(
      FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    #expect(total < fileSize && total > fileSize - 100_000)
    let names = tensors.compactMap { $0["name"] as? String }
    #expect(Set(names).count == tensors.count)
    #expect(names.contains("embeddings.word_embeddings.weight"))
    let embedding = try #require(
      tensors.first { $0["name"] as? String == "embeddings.word_embeddings.weight" })
    #expect(embedding["shape"] as? [Int] == [30522, 384])
    #expect(embedding["dtype"] as? String == "F32")
    #expect(embedding["bytes"] as? Int == 30522 * 384 * 4)
    #expect((document["config"] as? [String: Any])?["model_type"] as? String == "bert")
    #expect(document["metadata"] is [String: Any])
  }

  @Test("inspect prints a summary line and one row per tensor", .enabled(if: Oracles.miniLM))
  func miniLMText() throws {
    let path = try #require(try TestPaths.miniLM())
    let output = try CommandRunner.run(["inspect", path])
    #expect(output.status == 0, "\(output.stderr)")
    let lines = output.stdout.split(separator: "\n")
    #expect(lines.first?.hasPrefix(path + ": ") == true)
    #expect(lines.first?.contains(" tensors, ") == true)
    #expect(
      lines.contains {
        $0.contains("embeddings.word_embeddings.weight") && $0.contains("[30522, 384]")
      })
  }

  @Test("a malformed file exits 2 with one error line naming the file, tensor and byte offset")
  func malformedFile() throws {
    let path = TestPaths.fixtures + "/malformed_safetensors/overlapping.safetensors"
    let output = try CommandRunner.run(["inspect", path])
    #expect(output.status == 2)
    #expect(output.stdout.isEmpty)
    let lines = output.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    #expect(lines.count == 1, "\(output.stderr)")
    let line = String(lines.first ?? "")
    #expect(line.hasPrefix("Error: " + path + ": "))
    #expect(line.contains("tensor 'b'"))
    #expect(line.contains("(byte "))
    #expect(line.contains("invalid offset"))
  }

  @Test("trailing bytes after the data exit 2 and name the offset where they start")
  func trailingBytes() throws {
    let path =
      TestPaths.fixtures + "/malformed_safetensors/incomplete_buffer_extra_bytes.safetensors"
    let output = try CommandRunner.run(["inspect", path, "--json"])
    #expect(output.status == 2)
    #expect(output.stderr.contains("incomplete metadata, file not fully covered"))
    let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    #expect(output.stderr.contains("(byte \(size - 10))"))
  }
}
