"""End to end on the real, packaged MiniLM-L6 and packaged data: a few hundred rows."""

from lcl_tui.config import RunConfig, apply_overrides
from lcl_tui.predict import Predictor
from lcl_tui.training import train


def test_packaged_minilm_learns_trec6_from_a_few_hundred_rows(tmp_path):
    config = apply_overrides(RunConfig(), {
        "name": "packaged-e2e",
        "data.dataset": "trec-6",
        "data.max_train_examples": 320,
        "data.max_eval_examples": 160,
        "data.max_test_examples": 160,
        "data.max_length": 32,
        "model.pooling": "mean",
        "loss.objective": "lcl",
        "optim.lr": 2e-4,
        "train.epochs": 2,
        "train.batch_size": 32,
        "train.device": "cpu",
        "output.runs_dir": str(tmp_path / "runs"),
    })
    result = train(config)
    assert result.status == "completed", result.error
    # Six classes, the largest about 23%: 320 rows are enough for a pretrained encoder.
    assert result.test.accuracy > 0.5, result.test
    predictor = Predictor.from_run(result.run)
    (label, probability), *_ = predictor.predict(["How far is it from Denver to Aspen?"], top_k=1)[0]
    assert label in predictor.label_names and 0 < probability <= 1
