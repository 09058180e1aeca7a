# Converting models inside a Make build (docs/pipelines.md).
#
#   make -f pipeline.mk EMOE_PACK=path/to/emoe-pack            # one rule per model
#   make -f pipeline.mk EMOE_PACK=path/to/emoe-pack batch      # the same work as one batch
#
# Paths are relative to the folder make runs in: models in $(MODELS)/NAME/model.safetensors
# (with config.json beside), containers in $(OUT).

EMOE_PACK ?= emoe-pack
MODELS ?= models
OUT ?= out
NAMES ?= bert-tiny gpt2-tiny llama-tiny
EXPERTS ?= 4
MANIFEST ?= batch.json
JOBS ?= 2

containers := $(foreach name,$(NAMES),$(OUT)/$(name).emoe)

.PHONY: all batch
all: $(containers)

# One conversion per model. --depfile writes OUT/NAME.d naming every file the container was
# made from (the model, its shards, its config.json), so touching any of them reruns exactly
# that conversion. The container appears atomically: a failed or interrupted run leaves none.
$(OUT)/%.emoe: $(MODELS)/%/model.safetensors
	@mkdir -p $(@D)
	$(EMOE_PACK) convert $< $@ --experts $(EXPERTS) --depfile $(OUT)/$*.d

-include $(containers:.emoe=.d)

# The manifest's jobs, up to $(JOBS) at once. batch skips every job whose container records
# the same options, input SHA-256 and emoe-pack version, so running it on every build costs
# little, and it also reruns a job whose options changed, which timestamps cannot tell.
batch:
	@mkdir -p $(OUT)
	$(EMOE_PACK) batch $(MANIFEST) --jobs $(JOBS) --json > $(OUT)/batch-summary.json
