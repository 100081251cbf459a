import os

import pytest

# Tests never reach the hub: everything they load is written by the tests or packaged.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny models gain nothing from a second thread, and several torch processes spinning two
# OpenMP threads each on two cores slow each other several-fold (subprocesses inherit this).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="run the full kill-9 soak test")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from lcl_tui.testing import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-bert")


@pytest.fixture
def tiny(tmp_path, tiny_model_dir):
    """A factory of tiny configs sharing one saved random-weight model."""
    from lcl_tui.testing import tiny_config

    def make(**overrides):
        return tiny_config(tmp_path, model__name=str(tiny_model_dir), **overrides)

    return make


@pytest.fixture
def stopped_run(tiny):
    """A tiny CE run stopped at step 3 of its 2 epochs, with a checkpoint to resume from."""
    import threading

    from lcl_tui.events import StepEvent
    from lcl_tui.training import train

    stop = threading.Event()
    result = train(tiny(train__epochs=2, loss__objective="ce"), stop=stop,
                   subscribers=[lambda e: isinstance(e, StepEvent) and e.step == 3 and stop.set()])
    assert result.status == "stopped" and result.run.last_checkpoint is not None
    return result.run
