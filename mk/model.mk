# Batch scoring against the running service (`make serve` in another terminal): the held-out
# digits, or an IDX test set via IMAGES=... LABELS=...; accuracy, latency p50/p99, confusion PNG.
CONFUSION_PNG ?= artifacts/confusion.png

.PHONY: query-batch
query-batch: | $(SCORING_VENV)/.installed
	$(SPY) -m model_tools.client --uri http://127.0.0.1:$(PORT)/score --batch \
		--confusion-png $(CONFUSION_PNG) $(if $(IMAGES),--images $(IMAGES) --labels $(LABELS))

# Training time on an MNIST-sized set made here (model_tools/augment.py: 60,000 augmented
# digits): 20 fixed epochs of batch 32 against early stopping, both figures from one run
# (docs/model.md). About 5 minutes on 2 cores.
.PHONY: bench-train
bench-train: | $(SCORING_VENV)/.installed
	$(SPY) -m bench.train_time
