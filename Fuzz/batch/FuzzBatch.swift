import EMoEBatch
import EMoECore

/// The folder a fuzzed manifest lives in, with the inputs and folders the seed manifests name,
/// so that mutations reach the checks past "input not found".
private let manifestPath: String = {
  for model in ["bert-tiny", "gpt2-tiny", "llama-tiny"] {
    FuzzInput.touch("models/\(model)/model.safetensors")
  }
  FuzzInput.touch("models/bert/model.safetensors")
  FuzzInput.touch("models/llama/model.safetensors")
  FuzzInput.touch("models/smollm2.Q4_1.gguf")
  FuzzInput.touch("in.safetensors")
  FuzzInput.touch("in.gguf")
  FuzzInput.makeFolder("out/batch")
  FuzzInput.makeFolder("out/hf")
  return FuzzInput.directory + "/batch.json"
}()

/// libFuzzer entry point for the batch manifest reader: parse and check the manifest text
/// (JSON, keys, option values, paths, duplicate outputs) without running any job.
///
/// Any thrown error is an accepted outcome; a crash, trap, hang, leak or allocation above the
/// fuzzer's limit is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let text = Array(UnsafeRawBufferPointer(start: data, count: size))
  do {
    let manifest = try BatchManifest(text: text, path: manifestPath)
    for job in manifest.jobs { _ = job.output.utf8.count }
  } catch {
    _ = error.description
  }
  return 0
}
