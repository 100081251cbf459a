"""A budget of epochs trains every batch the sampler makes, not rows / batch size."""

import math

from lcl_tui.events import RunStarted, StepEvent
from lcl_tui.training import train


def test_every_epoch_runs_all_its_class_aware_batches(tiny):
    # Five per class: each class's 36 rows make 8 chunks, the last topped up, so an epoch holds more
    # batches than rows / batch size; the old budget cut the last epoch short.
    config = tiny(train__epochs=2, train__sampler="class-aware", train__examples_per_class=5,
                  train__batch_size=10, loss__objective="ce")
    events = []
    train(config, subscribers=[events.append])
    started = next(event for event in events if isinstance(event, RunStarted))
    steps = [event for event in events if isinstance(event, StepEvent)]
    assert started.total_steps > 2 * math.ceil(started.train_size / 10)  # top-ups made batches
    assert steps[-1].step == started.total_steps == len(steps)
    assert steps[-1].epoch == 2.0  # the second epoch ran to its last batch
