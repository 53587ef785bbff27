# Batch scoring against the running service (`make serve` in another terminal): the held-out
# digits, or an IDX test set via IMAGES=... LABELS=...; accuracy, latency p50/p99, confusion PNG.
CONFUSION_PNG ?= artifacts/confusion.png

.PHONY: query-batch
query-batch: | $(SCORING_VENV)/.installed
	$(SPY) -m model_service.client --uri http://127.0.0.1:$(PORT)/score --batch \
		--confusion-png $(CONFUSION_PNG) $(if $(IMAGES),--images $(IMAGES) --labels $(LABELS))
