import pytest

from lcl_tui.config import (
    RunConfig,
    apply_overrides,
    config_from_dict,
    list_presets,
    load_config,
    parse_overrides,
)
from lcl_tui.errors import ConfigError


def test_defaults_validate_and_round_trip_through_toml(tmp_path):
    config = RunConfig()
    path = tmp_path / "c.toml"
    path.write_text(config.to_toml())
    loaded = load_config(path)
    assert loaded.to_dict() == {**config.to_dict(), "name": "untitled"}


def test_overrides_parse_toml_literals():
    overrides = parse_overrides(["loss.alpha=0.2", "train.max_steps=5", "model.name=bert-base-uncased",
                                 "loss.detach_weights=true", "train.max_steps=none"])
    assert overrides == {"loss.alpha": 0.2, "train.max_steps": None, "model.name": "bert-base-uncased",
                         "loss.detach_weights": True}
    config = apply_overrides(RunConfig(), overrides)
    assert config.loss.alpha == 0.2 and config.loss.detach_weights is True
    assert config.train.max_steps is None


def test_int_is_accepted_for_float_and_integral_float_for_int():
    config = apply_overrides(RunConfig(), {"optim.lr": 1, "train.batch_size": 8.0})
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float)
    assert config.train.batch_size == 8 and isinstance(config.train.batch_size, int)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("loss.temperature", 0, "loss.temperature must be in [0.01, 1000]"),
        ("loss.temperature", -1.0, "loss.temperature must be in [0.01, 1000]"),
        ("loss.alpha", 1.5, "loss.alpha must be in [0, 1]"),
        ("loss.alpha", -0.1, "loss.alpha must be in [0, 1]"),
        ("train.batch_size", 0, "train.batch_size must be >= 1"),
        ("train.batch_size", 2.5, "train.batch_size must be a whole number"),
        ("train.epochs", 0, "train.epochs must be in [1, 1000]"),
        ("optim.lr", "fast", "optim.lr must be a number"),
        ("optim.lr", float("nan"), "optim.lr must be a finite number"),
        ("loss.objective", "mse", "loss.objective must be one of ce, scl, scl-two-stage, lcl"),
        ("model.pooling", "max", "model.pooling must be one of cls, mean"),
        ("train.sampler", "x", "train.sampler must be one of"),
        ("train.device", "tpu", "train.device must be auto, cpu"),
        ("loss.detach_weights", "yes", "loss.detach_weights must be true or false"),
        ("output.run_name", "../escape", "output.run_name '../escape' is not allowed"),
        ("output.run_name", "a/b", "is not allowed"),
    ],
)
def test_out_of_range_values_name_the_key(key, value, fragment):
    with pytest.raises(ConfigError) as caught:
        apply_overrides(RunConfig(), {key: value})
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_keys_are_errors_that_name_them(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'loss.tau'"):
        config_from_dict({"loss": {"tau": 0.3}})
    with pytest.raises(ConfigError, match="unknown config section or key 'losses'"):
        config_from_dict({"losses": {}})
    with pytest.raises(ConfigError, match="must be section.key"):
        apply_overrides(RunConfig(), {"alpha": 0.1})
    with pytest.raises(ConfigError, match="--set takes section.key=value"):
        parse_overrides(["loss.alpha"])


def test_preset_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[loss\nalpha = ")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_config("nope")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\xe9"'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin)


def test_every_shipped_preset_loads():
    presets = dict(list_presets())
    assert "quickstart" in presets
    quickstart = presets["quickstart"]
    assert quickstart.data.dataset == "movie-snippets-5"
    assert quickstart.loss.objective == "lcl"
    assert quickstart.model.name == "packaged:all-MiniLM-L6-v2"
    for objective in ("ce", "scl", "lcl"):
        assert presets[f"trec-50-{objective}"].loss.objective == objective
        assert presets[f"trec-50-{objective}"].data.dataset == "trec-50"
