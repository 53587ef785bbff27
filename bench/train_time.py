"""Training on an MNIST-sized set: 20 fixed epochs of batch 32 against early stopping, in one run.

    .venv-scoring/bin/python -m bench.train_time [--train 60000] [--test 10000] [--seed 0]

Makes the set here (model_service/augment.py: the digits' training split shifted, rotated,
scaled and noised to `--train` images; the held-out split likewise to `--test`), then trains
the how-to's DNN on it twice in this process, each into a temporary directory:

    fixed           --epochs 20 --batch-size 32 --patience 0   (what train.py did before)
    early stopping  train.py's defaults: a validation split, stop when the validation loss stops
                    improving, best weights restored, a batch size fitted to the set

and prints per epoch, then one line per configuration (epochs run, batch size, seconds per
epoch, the whole training's wall time: build, fit, export and the exported model's check) and the
targets: early stopping within 60 s, and a held-out accuracy no lower than the fixed run's.
Figures go to docs/model.md, never into code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from model_tools import augment, train, training_options

TARGET_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    metadata: dict

    def line(self) -> str:
        m = self.metadata
        return (
            f"{self.name:<15} epochs {m['epochs_run']:>2} (best {m['best_epoch']:>2})  "
            f"batch {m['batch_size']:>3}  {self.seconds / m['epochs_run']:.2f} s/epoch (total/epochs)  "
            f"total {self.seconds:6.1f} s  held-out accuracy {m['accuracy']:.4f}"
        )


CONFIGURATIONS = {
    "fixed": training_options.TrainingOptions(epochs=20, batch_size=32, patience=0),
    "early stopping": training_options.TrainingOptions(),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=60_000, help="training images (default 60000)")
    parser.add_argument("--test", type=int, default=10_000, help="held-out images (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    train_set, test_set = augment.mnist_sized(args.train, args.test, seed=args.seed)
    print(
        f"made {len(train_set)} training and {len(test_set)} held-out images in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="train-time-") as scratch:
        for name, options in CONFIGURATIONS.items():
            print(f"\n== {name} ==", flush=True)
            started = time.perf_counter()
            metadata = train.train_and_save(
                train_set, test_set, Path(scratch) / name, options, source="augmented"
            )
            outcomes.append(Outcome(name, time.perf_counter() - started, metadata))

    fixed, stopping = outcomes
    print("\n== training on an MNIST-sized set ==")
    for outcome in outcomes:
        print(outcome.line())
    print(f"speed-up: {fixed.seconds / stopping.seconds:.1f}x")
    in_time = stopping.seconds <= TARGET_SECONDS
    as_good = stopping.metadata["accuracy"] >= fixed.metadata["accuracy"]
    print(f"target: early stopping within {TARGET_SECONDS:.0f} s: {'met' if in_time else 'MISSED'}")
    print(
        f"target: held-out accuracy no lower than fixed ({stopping.metadata['accuracy']:.4f} vs "
        f"{fixed.metadata['accuracy']:.4f}): {'met' if as_good else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
