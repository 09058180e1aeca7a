import EMoETestSupport
import Foundation
import Testing

@Suite("emoe-pack inspect on GGUF")
struct GGUFInspectTests {
  @Test(
    "inspect --json on SmolLM2 reports version, alignment, metadata and every tensor",
    .enabled(if: Oracles.smolLM2))
  func smolLM2JSON() throws {
    let path = try #require(try TestPaths.smolLM2())
    let output = try CommandRunner.run(["inspect", "--json", path])
    #expect(output.status == 0, "\(output.stderr)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    #expect(json["format"] as? String == "gguf")
    #expect(json["version"] as? Int == 3)
    #expect(json["alignment"] as? Int == 32)
    let metadata = try #require(json["metadata"] as? [String: Any])
    #expect(metadata.count == 33)
    #expect(metadata["general.architecture"] as? String == "llama")
    #expect(metadata["llama.block_count"] as? Int == 30)
    let tokens = try #require(metadata["tokenizer.ggml.tokens"] as? String)
    #expect(tokens.hasPrefix("[string × 49152: \""))
    #expect(tokens.hasSuffix(", …]"))
    let tensors = try #require(json["tensors"] as? [[String: Any]])
    #expect(tensors.count == 272)
    let first = tensors[0]
    #expect(first["name"] as? String == "token_embd.weight")
    #expect(first["type"] as? String == "Q8_0")
    #expect(first["shape"] as? [Int] == [49152, 576])
    #expect(first["bytes"] as? Int == 30_081_024)
    #expect(first["offset"] as? Int == 1_785_664)
  }

  @Test(
    "inspect prints a table, and a malformed GGUF fails with exit 2 and the reason",
    .enabled(if: Oracles.smolLM2))
  func textAndErrors() throws {
    let path = try #require(try TestPaths.smolLM2())
    let output = try CommandRunner.run(["inspect", path])
    #expect(output.status == 0)
    #expect(output.stdout.contains("GGUF version 3, alignment 32, 272 tensors, 33 metadata keys"))
    #expect(output.stdout.contains("blk.0.ffn_down.weight"))
    #expect(output.stdout.contains("Q4_1"))
    let bad = TestPaths.fixtures + "/malformed_gguf/unexpected_offset.gguf"
    let failure = try CommandRunner.run(["inspect", bad])
    #expect(failure.status == 2)
    #expect(failure.stderr.contains("tensor 'b.weight'"))
  }
}
